"""One ``squeue`` per interval per cluster serves every Slurm kernel of the server.

:class:`SlurmPollers` is a service of the server (:func:`pollers_of`, in the kernel
manager's :class:`~jupyter_remote_kernels.services.Services`, closed at server stop). It hands
out one :class:`SlurmPoller` per cluster (commands + interval). While at least one kernel is
watched, the poller runs ``squeue --states=all --name=ID1,ID2,...`` (jobs are named after their
kernel ids) every ``interval`` seconds and keeps the answer; provisioners read that cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..provisioning.polling import Pollers, WatchPoller
from ..services import Services
from .commands import SlurmCommands
from .errors import SlurmError

__all__ = [
    "ENDED_STATES",
    "SERVICE",
    "Job",
    "SlurmPoller",
    "SlurmPollers",
    "parse_squeue",
    "pollers_of",
]

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


class SlurmPoller(WatchPoller[Job]):
    """Polls one Slurm cluster for the jobs of every watched kernel id.

    Public API (besides :class:`~jupyter_remote_kernels.provisioning.polling.WatchPoller`'s):
    :meth:`jobs` (the cached jobs named after a kernel id, newest first), :meth:`job`,
    :attr:`commands` (to run sbatch / scancel).
    """

    task_name = "jrk-slurm-poller"
    what = "Slurm"

    def __init__(self, commands: SlurmCommands, interval: float, log: Any) -> None:
        super().__init__(interval, log)
        self.commands = commands

    def jobs(self, name: str) -> list[Job]:
        """Cached jobs named ``name``, newest (highest job id) first."""
        return self.items(name)

    def job(self, name: str, job_id: str) -> Optional[Job]:
        return next((j for j in self.jobs(name) if j.id == job_id), None)

    async def fetch(self, keys: list[str]) -> dict[str, list[Job]]:
        """One round: one ``squeue`` for every watched kernel id (the jobs' names)."""
        args = [
            "--noheader",
            "--states=all",
            f"--name={','.join(keys)}",
            f"--format={SQUEUE_FORMAT}",
        ]
        result = await self.commands.run("squeue", args)
        if result.code != 0:
            msg = f"squeue exited with code {result.code}: {result.message()}"
            raise SlurmError(msg)
        found: dict[str, list[Job]] = {key: [] for key in keys}
        for job in parse_squeue(result.out):
            if job.name in found:
                found[job.name].append(job)
        return {key: sorted(jobs, key=_job_key, reverse=True) for key, jobs in found.items()}


class SlurmPollers(Pollers[SlurmPoller]):
    """The Slurm pollers of one server, one per cluster; see the module docstring."""

    def get(self, commands: SlurmCommands, interval: float) -> SlurmPoller:
        return self.get_or_make(
            (*commands.key, interval), lambda: SlurmPoller(commands, interval, self.log)
        )


#: The entry of the pollers in the server's :class:`~jupyter_remote_kernels.services.Services`.
SERVICE = "Slurm pollers"


def pollers_of(services: Services) -> SlurmPollers:
    """The server's Slurm pollers, made on first use."""
    return services.get(SERVICE, lambda: SlurmPollers(services.log))
