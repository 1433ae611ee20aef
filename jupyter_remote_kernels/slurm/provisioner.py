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
from typing import Any, Optional

from ..errors import LaunchError
from ..launch import protocol
from ..paths import launcher_files
from ..provisioning import ClusterJobProvisioner
from ..ssh import SSHTarget, connections_of, parse_host
from . import messages
from .commands import LoginHost, SlurmCommands
from .errors import SlurmError
from .jobs import cancel_and_confirm, controller_host, exit_code_of, export_env
from .poller import Job, SlurmPoller, pollers_of
from .resources import job_options
from .script import IN_JOB_SCRIPT, job_script
from .settings import SlurmSettings

__all__ = ["SlurmProvisioner"]

_JOB_ID = re.compile(r"^\d+$")


class SlurmProvisioner(SlurmSettings, ClusterJobProvisioner):  # type:ignore[misc]
    """Submits the kernel's launcher as a Slurm batch job and follows it with ``squeue``."""

    kind = "slurm"
    cluster_name = "Slurm"
    launch_env_names = frozenset(
        {f"KERNEL_SLURM_{name}" for name in ("PARTITION", "TIME", "CPUS", "MEMORY", "GPUS")}
    )

    record_key = "slurm"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poller: Optional[SlurmPoller] = None

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

    def find_poller(self) -> SlurmPoller:
        """The server's poller for this cluster."""
        return pollers_of(self.services).get(self.commands(), self.slurm_poll_interval)

    @property
    def name(self) -> str:
        """The job name: the kernel id."""
        return str(self.kernel_id)

    @property
    def watch_key(self) -> str:
        return self.name

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

    async def cluster_host(self) -> str:
        if self.slurm_login_host:
            # The login node is on the cluster's network: the route to it is the way back.
            return parse_host(self.slurm_login_host)[1]
        return await controller_host(self.find_poller().commands)

    def location(self) -> str:
        """``slurm · job 4242 on rkn2 (1:52 left)``, ``slurm · job 4242`` (no node yet: the
        phase, ``pending``, and Slurm's reason are the placement's own fields)."""
        if not self.job_id:
            return super().location()
        where = f"{self.kind} · job {self.job_id}"
        if self.placement.phase == "pending":
            return where
        if self.placement.host:
            where += f" on {self.placement.host}"
        left = self.placement.details.get("time_left")
        return f"{where} ({left} left)" if left and left != "UNLIMITED" else where

    def location_suffix(self) -> str:
        where = f" in Slurm job {self.job_id}" if self.job_id else ""
        return where + super().location_suffix()

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
        self.poller = self.find_poller()
        self.watch()
        self.begin_launch("sbatch")
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
        self.submitted = True
        result = await self.poller.commands.run("sbatch", args, stdin=script.encode())
        job_id = result.out.strip().split(";")[0]
        if result.code != 0 or not _JOB_ID.match(job_id):
            raise LaunchError(
                messages.submit_failed(self.name, self.slurm_partition, result.message())
            )
        self.job_id = job_id
        self.placement.set_details({"job_id": job_id, "partition": None, "time_left": None})
        self.placement.set_phase("pending", "waiting for the scheduler")
        self.poller.refresh()

    def cached_job(self, job_id: str) -> Optional[Job]:
        assert self.poller is not None
        return self.poller.job(self.name, job_id)

    def show_job(self, job: Job) -> None:
        self.placement.state = job.state
        self.placement.set_details(
            {
                "job_id": job.id,
                "partition": job.partition or None,
                "time_left": job.time_left or None,
            }
        )
        if job.nodes and job.state != "PENDING":
            self.placement.host = job.nodes

    def job_ended(self, job: Job) -> bool:
        return job.ended

    def job_vanished(self) -> bool:
        # Listed once, now gone from squeue (and squeue answered): it ended long ago.
        return self.seen and self.poller is not None and self.poller.last_error is None

    async def launch_failure(self, job: Job) -> str:
        code = await exit_code_of(self.poller.commands, job.id) if self.poller else None
        detail = f" Its exit code was {code}." if code else ""
        return messages.ended_before_ready(job, self.name, detail)

    def job_phase(self, job: Job) -> tuple[str, str]:
        if job.state == "PENDING":
            # Slurm says "None" until its scheduler has looked at the job.
            return "pending", job.reason if job.reason != "None" else "waiting for the scheduler"
        return "waiting-for-launcher", f"job {job.id} {job.state} on {job.nodes}"

    def death(self, job: Optional[Job]) -> str:
        return messages.died(job, self.job_id, self.name, self.placement.host)

    def job_exit_code(self, job: Optional[Job]) -> int:
        return 0 if job is not None and job.state == "COMPLETED" else 1

    def timeout_message(self, timeout: float) -> str:
        return messages.timed_out(
            self.current_job(),
            kernel_id=self.name,
            timeout=timeout,
            partition=self.slurm_partition,
            slurm_error=self.poller.last_error if self.poller else None,
            response_address=self.response_address,
        )

    # ------------------------------------------------------------------ stopping

    def node_timeout(self) -> float:
        return self.slurm_node_timeout

    def ask_again(self) -> None:
        # squeue at once rather than at the next interval: Slurm may have the reason now.
        if self.poller is not None:
            self.poller.refresh()

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
        commands = self.poller.commands if self.poller is not None else self.commands()
        if self.job_id is not None:
            target = [self.job_id]
        elif self.submitted:
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

    async def end_job(self, job_id: str) -> None:
        assert self.poller is not None
        await cancel_and_confirm(self.poller, self.name, job_id, self.cancel_timeout, self.log)

    # ------------------------------------------------------------------ persistence

    def cluster_record(self) -> dict[str, Any]:
        # The cluster the job runs on, even if the kernelspec changes meanwhile.
        return {
            "conf": self.slurm_conf,
            "bin_dir": self.slurm_bin_dir,
            "login_host": self.slurm_login_host,
        }

    def load_cluster_record(self, record: dict[str, Any]) -> None:
        self.slurm_conf = str(record.get("conf") or self.slurm_conf)
        self.slurm_bin_dir = str(record.get("bin_dir") or self.slurm_bin_dir)
        self.slurm_login_host = str(record.get("login_host") or self.slurm_login_host)

    def valid_job_id(self, job_id: Any) -> bool:
        return bool(job_id) and bool(_JOB_ID.match(str(job_id)))

    async def load_provisioner_info(self, provisioner_info: dict) -> None:
        """Follow the job again after a server restart."""
        await super().load_provisioner_info(provisioner_info)
        if self.job_id and self.poller is not None:
            # Wait for one round so poll() answers from Slurm, not from nothing.
            await self.poller.next_round(2 * self.slurm_poll_interval + self.slurm_command_timeout)
