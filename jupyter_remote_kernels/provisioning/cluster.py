"""What provisioners share whose launcher runs as a cluster's job.

A YARN application, a Slurm batch job, a Kubernetes pod: the backend submits a job that runs
the launcher somewhere the cluster chooses, follows the job's state through one poller (or
watch) per cluster (:mod:`.polling`), maps that state to a launch phase, turns a final state
before the kernel is ready into a launch error with the cluster's diagnostics, and at the end
kills the job and waits until the cluster confirms that it ended. :class:`ClusterJobProvisioner`
does all of that; a backend says how to submit, how to read and word its job's state, and how
to kill it.
"""

from __future__ import annotations

import abc
import asyncio
import time
from typing import Any, Optional

from ..errors import LaunchError
from ..netutil import route_ip
from .base import LauncherProvisionerBase
from .cluster_settings import ClusterSettings
from .polling import WatchPoller

__all__ = ["ClusterJobProvisioner"]


class ClusterJobProvisioner(LauncherProvisionerBase, ClusterSettings):  # type:ignore[misc]
    """Base class of the provisioners whose launcher runs as a job of a cluster.

    The job's id is :attr:`job_id` (None until the cluster has the job); ids of this kernel's
    earlier launches are in :attr:`past_jobs`. The poller (:meth:`find_poller`) follows the
    kernel's jobs under :attr:`watch_key`.
    """

    #: The entry of the reattach record (``get_provisioner_info``) holding the job's ids,
    #: and the names of the current job's id and of the earlier ones in it.
    record_key = "cluster"
    record_job_id = "job_id"
    record_past_jobs = "past_jobs"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poller: Optional[WatchPoller] = None
        self.job_id: Optional[str] = None
        self.past_jobs: set[str] = set()
        self.submitted = False
        self.seen = False  # the poller listed the current job at least once
        self._watching = False
        self._silent_since: Optional[float] = None

    # ------------------------------------------------------------------ backend hooks

    @abc.abstractmethod
    def find_poller(self) -> WatchPoller:
        """The server's poller of this kernel's cluster (one per cluster)."""

    @abc.abstractmethod
    async def cluster_host(self) -> str:
        """The cluster's address this server talks to (its RM, controller, API server): the
        route to it is the way back, unless ``callback_ip`` says otherwise."""

    @property
    @abc.abstractmethod
    def watch_key(self) -> str:
        """What the poller finds this kernel's jobs by (its tag, its job name)."""

    @abc.abstractmethod
    def cached_job(self, job_id: str) -> Optional[Any]:
        """The job ``job_id`` as the poller last saw it, or None (not listed)."""

    @abc.abstractmethod
    def show_job(self, job: Any) -> None:
        """Copy what the cluster says of the job into the placement (state, details, host)."""

    @abc.abstractmethod
    def job_ended(self, job: Any) -> bool:
        """True once nothing of the job runs any more (a final state)."""

    @abc.abstractmethod
    def job_phase(self, job: Any) -> tuple[str, str]:
        """The launch phase and its detail for a job that has not ended (e.g. ``pending``
        with the scheduler's reason, ``waiting-for-launcher`` once it runs)."""

    @abc.abstractmethod
    async def launch_failure(self, job: Any) -> str:
        """Why the launch failed: the job ended before the kernel was ready (with the
        cluster's diagnostics and what to do)."""

    @abc.abstractmethod
    def death(self, job: Optional[Any]) -> str:
        """Why a ready kernel died: its job ended (or vanished) under it."""

    @abc.abstractmethod
    async def end_job(self, job_id: str) -> None:
        """Kill the job unless it ended, and wait until the cluster confirms (logged)."""

    def launch_failed(self, job: Any) -> bool:
        """True when the launch cannot go on; by default, once the job ended."""
        return self.job_ended(job)

    def job_exit_code(self, job: Optional[Any]) -> int:
        """The exit code an ended (or vanished) job means: 0 for a clean end, else 1."""
        return 1

    def job_vanished(self) -> bool:
        """True when the cluster no longer lists a job it did list (never, by default)."""
        return False

    def current_job(self) -> Optional[Any]:
        """The current job as the poller last saw it, or None."""
        if self.poller is None or self.job_id is None:
            return None
        job = self.cached_job(self.job_id)
        if job is not None:
            self.seen = True
        return job

    def begin_launch(self, detail: str) -> None:
        """A new launch: no job yet, nothing of the last one in the placement; ``submitting``."""
        self.job_id, self.seen = None, False
        self.placement.state = self.placement.host = None
        self.placement.set_details({})
        self.placement.set_phase("submitting", detail)

    def node_timeout(self) -> float:
        """Seconds a ready kernel whose launcher is gone or silent is still waited for, so
        that the cluster can say why its job ended (the backend's ``*_node_timeout``
        trait); 0, the default: not waited for, the kernel is reported gone at once."""
        return 0.0

    def ask_again(self) -> None:
        """Ask the cluster for the job's state now, while a silent launcher is waited for
        (by default nothing: the poller or watch reports on its own)."""

    #: How the messages name the cluster ("Slurm", "Kubernetes").
    cluster_name = "the cluster"

    def job_name(self) -> str:
        """How the messages name the current job (``job 4242``, ``pod jrk-3f2a``)."""
        return f"job {self.job_id}"

    def silent_death(self, timeout: float) -> str:
        """Why a ready kernel is reported dead: its launcher is gone or silent and the
        cluster did not report its job ended within ``timeout`` seconds (0: not waited for)."""
        job = self.job_name()
        waited = (
            f"{self.cluster_name} did not report its {job} ended within {timeout:g} s"
            if timeout
            else f"{self.cluster_name} had not reported its {job} ended (not waited for: "
            "the node timeout is 0)"
        )
        return (
            f"Kernel {self.kernel_id} died: its launcher{self.location_suffix()} is gone or "
            f"does not answer, and {waited}"
        )

    def cluster_record(self) -> dict[str, Any]:
        """What else a later server needs to find the cluster (its endpoints, its config)."""
        return {}

    def load_cluster_record(self, record: dict[str, Any]) -> None:
        """Take back what :meth:`cluster_record` saved."""

    def valid_job_id(self, job_id: Any) -> bool:
        return isinstance(job_id, str) and bool(job_id)

    # ------------------------------------------------------------------ addresses

    async def response_ip(self) -> str:
        if self.callback_ip:
            return self.callback_ip
        host = await self.cluster_host()
        return await asyncio.to_thread(route_ip, host or "127.0.0.1", "127.0.0.1")

    def kernel_bind_ip(self) -> str:
        # Empty: the launcher binds the address of the node the cluster runs it on.
        return ""

    def connect_ip(self, info: dict[str, Any]) -> str:
        ip = str(info.get("ip") or "")
        if ip in ("", "0.0.0.0", "::"):  # noqa: S104 - bind_all_interfaces
            ip = str(info.get("host") or self.placement.host or "")
        return ip

    # ------------------------------------------------------------------ following the job

    def watch(self) -> WatchPoller:
        """Start following this kernel's jobs (once); returns the poller."""
        if self.poller is None:
            self.poller = self.find_poller()
        if not self._watching:
            self.poller.watch(self.watch_key, self._on_poll)
            self._watching = True
        return self.poller

    def unwatch(self) -> None:
        if self.poller is not None and self._watching:
            self.poller.unwatch(self.watch_key)
            self._watching = False

    def _on_poll(self) -> None:
        """After each poll round (called by the poller): keep the placement up to date."""
        job = self.current_job() if self.job_id is not None else None
        if job is not None:
            self.show_job(job)

    async def follow_launch(self) -> None:
        """Follow the job's state (from the shared poller) while the launch waits.

        The job's state, not a local process, says whether the launch goes on (pending,
        running) or has failed.
        """
        if self.poller is None or self.job_id is None:
            return
        job = self.current_job()
        if job is None:
            if self.job_vanished():
                msg = (
                    f"The {self.kind} job {self.job_id} of kernel {self.kernel_id} vanished "
                    "from the cluster's listing before the kernel was ready"
                )
                raise LaunchError(msg)
            return
        self.show_job(job)
        if self.launch_failed(job):
            raise LaunchError(await self.launch_failure(job))
        phase, detail = self.job_phase(job)
        self.placement.set_phase(phase, detail)

    async def launcher_exit_code(self) -> Optional[int]:
        """From the poller's cache: None while the job runs, else its exit code.

        A job that ended under a ready kernel (its node lost, killed by an admin, a time
        limit, preemption) is reported: phase ``dead`` with the cluster's reason, and a
        warning in the server log, before Jupyter's restarter acts on the exit code.
        """
        if self.poller is None or self.job_id is None:
            return None
        job = self.current_job()
        if job is not None:
            self.show_job(job)
        ended = self.job_ended(job) if job is not None else self.job_vanished()
        if not ended:
            return None
        if self.placement.phase == "ready":
            reason = self.death(job)
            self.log.warning(reason)
            self.placement.set_phase("dead", error=reason)
        return self.job_exit_code(job)

    async def poll(self) -> Optional[int]:
        """None while the kernel runs, else its exit code (see ``LifecycleMixin.poll``).

        Called by ``KernelManager.is_alive``. When a ready kernel's launcher is gone or
        silent (its comm port refuses or does not answer) but the cluster has not yet said
        that the job ended, the kernel is not reported dead for up to :meth:`node_timeout`
        seconds (the cluster is asked again meanwhile, :meth:`ask_again`): it is then
        reported with the cluster's reason (a time limit, a node failure, OOMKilled) from
        :meth:`launcher_exit_code`, or else as :meth:`silent_death` (at once with a node
        timeout of 0: phase ``dead`` either way, never ``ready`` with an exit code).
        """
        code = await super().poll()
        if code is None or self.placement.phase != "ready" or self.poller is None:
            self._silent_since = None
            return code
        timeout = self.node_timeout()
        now = time.monotonic()
        if self._silent_since is None:
            self._silent_since = now
        if now - self._silent_since < timeout:
            self.ask_again()
            return None
        reason = self.silent_death(timeout)
        self.log.warning(reason)
        self.placement.set_phase("dead", error=reason)
        return code

    async def release(self, restart: bool) -> None:
        """Make sure the job ended (kill + confirm); stop following it unless restarting."""
        if self.job_id is not None and self.poller is not None:
            await self.end_job(self.job_id)
            self.past_jobs.add(self.job_id)
            self.job_id = None
        self.submitted = False
        if not restart:
            self.unwatch()

    # ------------------------------------------------------------------ persistence

    async def get_provisioner_info(self) -> dict[str, Any]:
        info = await super().get_provisioner_info()
        info[self.record_key] = {
            self.record_job_id: self.job_id,
            self.record_past_jobs: sorted(self.past_jobs),
            **self.cluster_record(),
        }
        return info

    async def load_provisioner_info(self, provisioner_info: dict) -> None:
        """Follow the job again after a server restart."""
        await super().load_provisioner_info(provisioner_info)
        record = provisioner_info.get(self.record_key) or {}
        self.load_cluster_record(record)
        job_id = record.get(self.record_job_id)
        job_id = str(job_id) if job_id is not None else None
        self.job_id = job_id if self.valid_job_id(job_id) else None
        self.past_jobs = {str(j) for j in record.get(self.record_past_jobs) or []}
        if self.job_id:
            self.watch()
