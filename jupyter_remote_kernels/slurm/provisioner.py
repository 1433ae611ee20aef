"""The Slurm provisioner: each kernel runs as a Slurm batch job, placed by the scheduler.

The job runs the launcher (carried in the batch script, see :mod:`.script`) on the node Slurm
chooses; it is named after the kernel id (``--job-name``, and a ``--comment``), which is how
the server's shared :class:`~jupyter_remote_kernels.slurm.poller.SlurmPoller` finds and
follows it (one ``squeue`` per interval for every kernel). Stopping asks the launcher first,
then ``scancel`` and waits until Slurm reports the job ended.

Launch phases: ``submitting`` (sbatch runs) -> ``pending`` (with Slurm's reason in
``detail``: ``Resources``, ``Priority``, ``QOSMaxJobsPerUser``...) -> ``waiting-for-launcher``
(the job runs) -> ``ready``. A restart submits a new job: the old one is cancelled first, so
the kernel gets a fresh time limit and the resources the request now asks for.
"""

from __future__ import annotations

import asyncio
import getpass
import re
import time
from typing import Any, Optional

from .._paths import launcher_files
from ..errors import LaunchError, SlurmError
from ..launch import protocol
from ..netutil import route_ip
from ..provisioning import LauncherProvisionerBase
from ..ssh import SSHTarget, connections_of, parse_host
from . import messages
from .commands import LoginHost, SlurmCommands
from .jobs import cancel_and_confirm, controller_host, exit_code_of, export_env
from .poller import Job, SlurmPoller, pollers_of
from .resources import job_options
from .script import IN_JOB_SCRIPT, job_script
from .settings import SlurmSettings

__all__ = ["SlurmProvisioner"]

_JOB_ID = re.compile(r"^\d+$")


class SlurmProvisioner(SlurmSettings, LauncherProvisionerBase):  # type:ignore[misc]
    """Submits the kernel's launcher as a Slurm batch job and follows it with ``squeue``."""

    kind = "slurm"
    launch_env_names = frozenset(
        {f"KERNEL_SLURM_{name}" for name in ("PARTITION", "TIME", "CPUS", "MEMORY", "GPUS")}
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._poller: Optional[SlurmPoller] = None
        self._watching = False
        self._job_id: Optional[str] = None
        self._seen = False
        self._submitted = False
        self._past_jobs: set[str] = set()
        self._silent_since: Optional[float] = None

    # ------------------------------------------------------------------ settings

    def commands(self) -> SlurmCommands:
        """How this kernelspec runs the Slurm commands: here, or on its login node."""
        login = None
        if self.slurm_login_host:
            user, host, port = parse_host(self.slurm_login_host)
            target = SSHTarget(
                host=host,
                port=port or 22,
                user=user or getpass.getuser(),
                key_file=self.slurm_login_key_file,
                known_hosts=self.slurm_login_known_hosts,
            )
            login = LoginHost(target, connections_of(self.services))
        return SlurmCommands(self.slurm_bin_dir, self.slurm_conf, self.slurm_command_timeout, login)

    def _find_poller(self) -> SlurmPoller:
        """The server's poller for this cluster."""
        return pollers_of(self.services).get(self.commands(), self.slurm_poll_interval)

    @property
    def name(self) -> str:
        """The job name: the kernel id."""
        return str(self.kernel_id)

    def placeholder_values(self) -> dict[str, str]:
        values = super().placeholder_values()
        values["bundle_env"] = self.bundle_env
        return values

    def launcher_location(self) -> str:
        return IN_JOB_SCRIPT

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """Refuse a request beyond the admin's limits before anything is submitted.

        Called by ``KernelManager.pre_start_kernel`` before every launch, restarts included.
        """
        job_options(self, kwargs.get("env") or {})
        return await super().pre_launch(**kwargs)

    # ------------------------------------------------------------------ base hooks

    async def response_ip(self) -> str:
        if self.callback_ip:
            return self.callback_ip
        if self.slurm_login_host:
            # The login node is on the cluster's network: the route to it is the way back.
            host = parse_host(self.slurm_login_host)[1]
        else:
            host = await controller_host(self._find_poller().commands)
        return await asyncio.to_thread(route_ip, host or "127.0.0.1", "127.0.0.1")

    def kernel_bind_ip(self) -> str:
        # Empty: the launcher binds the address of the node Slurm runs it on.
        return ""

    def connect_ip(self, info: dict[str, Any]) -> str:
        ip = str(info.get("ip") or "")
        if ip in ("", "0.0.0.0", "::"):  # noqa: S104 - bind_all_interfaces
            ip = str(info.get("host") or self.placement.host or "")
        return ip

    def location(self) -> str:
        where = f" in Slurm job {self._job_id}" if self._job_id else ""
        return where + super().location()

    # ------------------------------------------------------------------ launch

    async def start_launcher(
        self, cmd: list[str], env: dict[str, str], cwd: Optional[str], bundle: dict[str, Any]
    ) -> None:
        """Submit the job (sbatch reads the script on stdin) and return once Slurm has it.

        Called by :meth:`_start_and_wait` for every launch (restarts included). The bundle,
        with the request's ``KERNEL_*`` values in it, is exported by the script; nothing of
        it is in a command line.
        """
        options = job_options(self, env)
        self._poller = self._find_poller()
        if not self._watching:
            self._poller.watch(self.name, self._on_poll)
            self._watching = True
        self._job_id, self._seen = None, False
        for field in ("job_id", "partition", "host", "state", "time_left"):
            setattr(self.placement, field, None)
        self.placement.set_phase("submitting", "sbatch")
        forwarded = {k: str(v) for k, v in env.items() if k.startswith("KERNEL_")}
        encoded = protocol.encode_bundle({**bundle, "env": forwarded}).decode().strip()
        spec_env = (self.kernel_spec.env if self.kernel_spec else None) or {}
        job_env = {
            **export_env(self.slurm_export_env),
            **{k: str(env[k]) for k in spec_env if k in env},
            self.bundle_env: encoded,
        }
        try:
            # Finding and reading the launcher's files touches the disk: off the event loop.
            script = await asyncio.to_thread(
                lambda: job_script(cmd, launcher_files("python"), job_env, self.name)
            )
        except ValueError as exc:
            msg = f"Kernel {self.name}: {exc}"
            raise LaunchError(msg) from exc
        args = [
            "--parsable",
            f"--job-name={self.name}",
            f"--comment=jupyter_remote_kernels kernel {self.name}",
            f"--output={self.slurm_output}",
            "--no-requeue",
            "--export=ALL",
            *options,
        ]
        if cwd:
            args.append(f"--chdir={cwd}")
        self._submitted = True
        result = await self._poller.commands.run("sbatch", args, stdin=script.encode())
        job_id = result.out.strip().split(";")[0]
        if result.code != 0 or not _JOB_ID.match(job_id):
            raise LaunchError(
                messages.submit_failed(self.name, self.slurm_partition, result.message())
            )
        self._job_id = self.placement.job_id = job_id
        self.placement.set_phase("pending", "waiting for the scheduler")
        self._poller.refresh()

    def _current(self) -> Optional[Job]:
        if self._poller is None or self._job_id is None:
            return None
        job = self._poller.job(self.name, self._job_id)
        if job is not None:
            self._seen = True
        return job

    def _on_poll(self) -> None:
        """After each poll round (called by the poller): keep the placement up to date."""
        job = self._current()
        if job is not None:
            self._show(job)

    def _show(self, job: Job) -> None:
        self.placement.state = job.state
        self.placement.partition = job.partition or None
        self.placement.time_left = job.time_left or None
        if job.nodes and job.state != "PENDING":
            self.placement.host = job.nodes

    async def follow_launch(self) -> None:
        """Follow the job's state (from the shared poller) while the launch waits."""
        job = self._current()
        if job is None:
            if self._seen:
                msg = f"Slurm job {self._job_id} of kernel {self.name} vanished before it was ready"
                raise LaunchError(msg)
            return
        self._show(job)
        if job.ended:
            code = await exit_code_of(self._poller.commands, job.id) if self._poller else None
            detail = f" Its exit code was {code}." if code else ""
            raise LaunchError(messages.ended_before_ready(job, self.name, detail))
        if job.state == "PENDING":
            # Slurm says "None" until its scheduler has looked at the job.
            reason = job.reason if job.reason != "None" else "waiting for the scheduler"
            self.placement.set_phase("pending", reason)
        else:
            self.placement.set_phase(
                "waiting-for-launcher", f"job {job.id} {job.state} on {job.nodes}"
            )

    def timeout_message(self, timeout: float) -> str:
        return messages.timed_out(
            self._current(),
            kernel_id=self.name,
            timeout=timeout,
            partition=self.slurm_partition,
            slurm_error=self._poller.last_error if self._poller else None,
            response_address=self.response_address,
        )

    # ------------------------------------------------------------------ stopping

    async def launcher_exit_code(self) -> Optional[int]:
        """From the poller's cache: None while the job runs, 0 if it completed, else 1.

        A job that ended under a ready kernel (time limit, preemption, node failure,
        scancel by someone) is reported: phase ``dead`` with Slurm's state and reason, and a
        warning in the server log, before Jupyter's restarter acts on the exit code.
        """
        if self._poller is None or self._job_id is None:
            return None
        job = self._current()
        if job is not None:
            self._show(job)
        gone = job is None and self._seen and self._poller.last_error is None
        if not gone and (job is None or not job.ended):
            return None
        if self.placement.phase == "ready":
            reason = messages.died(job, self._job_id, self.name, self.placement.host)
            self.log.warning(reason)
            self.placement.set_phase("dead", error=reason)
        return 0 if job is not None and job.state == "COMPLETED" else 1

    async def poll(self) -> Optional[int]:
        """None while the kernel runs, else its exit code (see ``LifecycleMixin.poll``).

        Called by ``KernelManager.is_alive``. When a ready kernel's launcher is gone or
        silent (its comm port refuses or does not answer) but Slurm has not yet said that
        the job ended, Slurm is asked again at once and the kernel is not reported dead for
        up to ``slurm_node_timeout`` seconds: it is then reported with Slurm's reason (a time
        limit, a node failure, preemption) rather than as merely gone.
        """
        code = await super().poll()
        if code is None or self.placement.phase != "ready" or self._poller is None:
            self._silent_since = None
            return code
        now = time.monotonic()
        if self._silent_since is None:
            self._silent_since = now
        if now - self._silent_since < self.slurm_node_timeout:
            self._poller.refresh()
            return None
        reason = (
            f"Kernel {self.name} died: its launcher on {self.placement.host} is gone or does "
            f"not answer, and Slurm did not report its job {self._job_id} ended within "
            f"{self.slurm_node_timeout:.0f} s"
        )
        self.log.warning(reason)
        self.placement.set_phase("dead", error=reason)
        return code

    async def shutdown_requested(self, restart: bool = False) -> None:
        """The kernel was asked to shut down (or restart): its exit is expected now.

        Called by ``KernelManager.request_shutdown``; :meth:`release` then cancels the job
        and confirms it ended.
        """
        self.placement.set_phase("shutting-down")
        await super().shutdown_requested(restart)

    async def kill(self, restart: bool = False) -> None:
        await super().kill(restart)
        await self.force_stop()

    async def force_stop(self) -> None:
        """scancel this launch's job (or, submitted but never seen, every job of the kernel)."""
        commands = self._poller.commands if self._poller is not None else self.commands()
        if self._job_id is not None:
            target = [self._job_id]
        elif self._submitted:
            target = [f"--name={self.name}"]
        else:
            return
        try:
            result = await commands.run("scancel", target)
        except SlurmError as exc:  # the launch's own error is the one to report
            self.log.warning("scancel %s failed: %s", target[0], exc)
            return
        if result.code != 0:
            self.log.warning("scancel %s failed: %s", target[0], result.message())

    async def release(self, restart: bool) -> None:
        """Make sure the job ended (scancel + confirm); stop following it unless restarting."""
        if self._job_id is not None and self._poller is not None:
            await cancel_and_confirm(
                self._poller, self.name, self._job_id, self.cancel_timeout, self.log
            )
            self._past_jobs.add(self._job_id)
            self._job_id = None
        self._submitted = False
        if self._poller is not None and self._watching and not restart:
            self._poller.unwatch(self.name)
            self._watching = False

    # ------------------------------------------------------------------ persistence

    async def get_provisioner_info(self) -> dict[str, Any]:
        info = await super().get_provisioner_info()
        info["slurm"] = {
            "job_id": self._job_id,
            "past_jobs": sorted(self._past_jobs),
            # The cluster the job runs on, even if the kernelspec changes meanwhile.
            "conf": self.slurm_conf,
            "bin_dir": self.slurm_bin_dir,
            "login_host": self.slurm_login_host,
        }
        return info

    async def load_provisioner_info(self, provisioner_info: dict) -> None:
        """Follow the job again after a server restart."""
        await super().load_provisioner_info(provisioner_info)
        slurm = provisioner_info.get("slurm") or {}
        self.slurm_conf = str(slurm.get("conf") or self.slurm_conf)
        self.slurm_bin_dir = str(slurm.get("bin_dir") or self.slurm_bin_dir)
        self.slurm_login_host = str(slurm.get("login_host") or self.slurm_login_host)
        job_id = slurm.get("job_id")
        self._job_id = str(job_id) if job_id and _JOB_ID.match(str(job_id)) else None
        self._past_jobs = {str(j) for j in slurm.get("past_jobs") or []}
        if self._job_id:
            self._poller = self._find_poller()
            self._poller.watch(self.name, self._on_poll)
            self._watching = True
            # Wait for one round so poll() answers from Slurm, not from nothing.
            await self._poller.next_round(2 * self.slurm_poll_interval + self.slurm_command_timeout)
