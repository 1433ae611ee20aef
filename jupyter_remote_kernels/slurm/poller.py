"""One ``squeue`` per interval per cluster serves every Slurm kernel of the server.

:class:`SlurmPollers` is a service of the server (:func:`pollers_of`, in the kernel
manager's :class:`~jupyter_remote_kernels.services.Services`, closed at server stop). It hands
out one :class:`SlurmPoller` per cluster (commands + interval). While at least one kernel is
watched, the poller runs ``squeue --states=all --name=ID1,ID2,...`` (jobs are named after their
kernel ids) every ``interval`` seconds and keeps the answer; provisioners read that cache.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..errors import SlurmError
from ..services import Services
from .commands import SlurmCommands

__all__ = ["ENDED_STATES", "SERVICE", "Job", "SlurmPoller", "SlurmPollers", "parse_squeue",
           "pollers_of"]

#: squeue's fields, in order: id, name, state, partition, nodes, time left, reason.
SQUEUE_FORMAT = "%i|%j|%T|%P|%N|%L|%r"

#: Job states after which nothing of the job runs any more.
ENDED_STATES = frozenset(
    {
        "BOOT_FAIL",
        "CANCELLED",
        "COMPLETED",
        "DEADLINE",
        "FAILED",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "PREEMPTED",
        "REVOKED",
        "SPECIAL_EXIT",
        "TIMEOUT",
    }
)


@dataclass(frozen=True)
class Job:
    """One job as squeue shows it."""

    id: str
    name: str
    state: str
    partition: str
    nodes: str
    time_left: str
    reason: str

    @property
    def ended(self) -> bool:
        return self.state in ENDED_STATES


def parse_squeue(text: str) -> list[Job]:
    """The jobs in ``squeue --noheader --format=SQUEUE_FORMAT`` output."""
    jobs = []
    for line in text.splitlines():
        parts = line.strip().split("|", 6)
        if len(parts) == 7 and parts[0]:
            jobs.append(Job(*(p.strip() for p in parts)))
    return jobs


def _job_key(job: Job) -> tuple[int, str]:
    head = job.id.split("_")[0]
    return (int(head) if head.isdigit() else -1, job.id)


class SlurmPoller:
    """Polls one Slurm cluster for the jobs of every watched kernel id.

    Public API: :meth:`watch` / :meth:`unwatch` a kernel id (reference counted),
    :meth:`jobs` (the cached jobs named after it, newest first), :meth:`next_round`,
    :attr:`rounds`, :attr:`last_error`, :attr:`commands` (to run sbatch / scancel).
    """

    def __init__(self, commands: SlurmCommands, interval: float, log: Any) -> None:
        self.commands = commands
        self.interval = interval
        self.log = log
        self.rounds = 0
        self.last_error: Optional[str] = None
        self._watched: dict[str, int] = {}
        self._jobs: dict[str, list[Job]] = {}
        self._listeners: dict[str, Callable[[], None]] = {}
        self._task: Optional[asyncio.Task] = None
        self._wake = asyncio.Event()
        self._round_done = asyncio.Condition()
        self._closed = False

    def watch(self, name: str, listener: Optional[Callable[[], None]] = None) -> None:
        """Follow the jobs named ``name`` (a kernel id) until :meth:`unwatch`.

        ``listener`` (optional) is called with no arguments after each poll round.
        """
        self._watched[name] = self._watched.get(name, 0) + 1
        if listener is not None:
            self._listeners[name] = listener
        if self._task is None or self._task.done():
            self._closed = False
            self._task = asyncio.create_task(self._run(), name="jrk-slurm-poller")

    def unwatch(self, name: str) -> None:
        count = self._watched.get(name, 0) - 1
        if count > 0:
            self._watched[name] = count
            return
        self._watched.pop(name, None)
        self._jobs.pop(name, None)
        self._listeners.pop(name, None)
        if not self._watched:
            self._wake.set()

    def refresh(self) -> None:
        """Poll now rather than at the end of the interval (a job was just submitted)."""
        self._wake.set()

    def jobs(self, name: str) -> list[Job]:
        """Cached jobs named ``name``, newest (highest job id) first."""
        return list(self._jobs.get(name, []))

    def job(self, name: str, job_id: str) -> Optional[Job]:
        return next((j for j in self.jobs(name) if j.id == job_id), None)

    async def next_round(self, timeout: float) -> bool:
        """Wait until the next poll round has finished; False on timeout."""
        async with self._round_done:
            try:
                await asyncio.wait_for(self._round_done.wait(), timeout)
            except asyncio.TimeoutError:
                return False
        return True

    async def _run(self) -> None:
        while self._watched and not self._closed:
            await self.poll_once()
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)

    async def poll_once(self) -> None:
        """One round: one ``squeue`` for every watched kernel id."""
        names = sorted(self._watched)
        error = None
        if names:
            args = ["--noheader", "--states=all", f"--name={','.join(names)}",
                    f"--format={SQUEUE_FORMAT}"]
            try:
                result = await self.commands.run("squeue", args)
            except SlurmError as exc:
                error = str(exc)
            else:
                if result.code != 0:
                    error = f"squeue exited with code {result.code}: {result.message()}"
                else:
                    found: dict[str, list[Job]] = {name: [] for name in names}
                    for job in parse_squeue(result.out):
                        if job.name in found:
                            found[job.name].append(job)
                    for name, jobs in found.items():
                        if name in self._watched:
                            self._jobs[name] = sorted(jobs, key=_job_key, reverse=True)
        if error is not None and error != self.last_error:
            self.log.warning("Slurm poll failed (kernels keep their last known state): %s", error)
        self.last_error = error
        self.rounds += 1
        for name, listener in list(self._listeners.items()):
            try:
                listener()
            except Exception:
                self.log.exception("Slurm poll listener of %s failed", name)
        async with self._round_done:
            self._round_done.notify_all()

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class SlurmPollers:
    """The pollers of one server, one per cluster; see the module docstring."""

    def __init__(self, log: Any) -> None:
        self.log = log
        self._pollers: dict[tuple, SlurmPoller] = {}

    def get(self, commands: SlurmCommands, interval: float) -> SlurmPoller:
        key = (*commands.key, interval)
        poller = self._pollers.get(key)
        if poller is None:
            poller = self._pollers[key] = SlurmPoller(commands, interval, self.log)
        return poller

    def all(self) -> list[SlurmPoller]:
        return list(self._pollers.values())

    async def close(self) -> None:
        """Stop every poller (server stop, after the kernels are shut down)."""
        pollers, self._pollers = list(self._pollers.values()), {}
        for poller in pollers:
            await poller.close()


#: The entry of the pollers in the server's :class:`~jupyter_remote_kernels.services.Services`.
SERVICE = "Slurm pollers"


def pollers_of(services: Services) -> SlurmPollers:
    """The server's Slurm pollers, made on first use."""
    return services.get(SERVICE, lambda: SlurmPollers(services.log))
