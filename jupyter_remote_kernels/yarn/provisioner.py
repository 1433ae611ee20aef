"""The YARN provisioner: each kernel runs as a YARN application (cluster mode).

The kernelspec's argv *submits*: a ``run.sh`` calling ``spark-submit --master yarn
--deploy-mode cluster``, or any submitter, with the kernel id as application tag
(``{kernel_id}``), the launcher as the application's program and the launch bundle in the
container environment (the submitter gets it as ``$JRK_LAUNCH_BUNDLE`` and forwards it; the
launcher runs with ``--bundle-env JRK_LAUNCH_BUNDLE``). This provisioner runs that command on
the server, finds the application through the RM REST API *by tag* (not by name, start time or
id order), follows it through the server's shared :class:`~.poller.YarnPoller` (one ``GET
/apps`` per interval for every kernel), waits for the launcher's callback and kills the
application with ``PUT /apps/{id}/state`` when the kernel stops, confirming that it ended.

Launch phases: ``submitting`` (no application yet) -> ``pending`` (no AM container yet, YARN's
diagnostics in ``detail``) -> ``waiting-for-launcher`` (an AM container runs: the driver has
yet to register, or the launcher to call back) -> ``ready``. The placement's ``details`` are
the application's ``app_id``, ``queue`` and ``tracking_url``. It shares following, killing and
reattaching a cluster job with every cluster backend
(:class:`~jupyter_remote_kernels.provisioning.ClusterJobProvisioner`).
"""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

from ..errors import LaunchError, PlacementError
from ..launch import protocol
from ..paths import launcher_files
from ..process import OutputTail, stop_group
from ..provisioning import ClusterJobProvisioner
from . import messages
from .client import FINAL_STATES, app_id_key
from .errors import YarnError
from .kill import kill_and_confirm, send_kill, unfinished_apps
from .poller import YarnPoller, pollers_of
from .settings import YarnSettings

__all__ = ["YarnProvisioner"]


class YarnProvisioner(YarnSettings, ClusterJobProvisioner):  # type:ignore[misc]
    """Submits the kernel's launcher to YARN and follows it through the RM REST API."""

    kind = "yarn"
    launch_env_names = frozenset({"KERNEL_EXTRA_SPARK_OPTS"})
    cwd_from = ""  # a kernel runs in its container's folder
    record_key, record_job_id, record_past_jobs = "yarn", "app_id", "past_apps"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poller: Optional[YarnPoller] = None
        self._submitter: Optional[asyncio.subprocess.Process] = None
        self._output = OutputTail()
        self._kill_tasks: set[asyncio.Task] = set()

    # ------------------------------------------------------------------ settings

    def endpoints(self) -> list[str]:
        found = [self.yarn_endpoint, *self.alt_yarn_endpoints]
        endpoints = list(dict.fromkeys(e for e in found if e))
        if not endpoints:
            msg = (
                f"Kernelspec '{self._kernel_name()}' has no YARN endpoint: set yarn_endpoint "
                "in its process_proxy.config (or c.YarnProvisioner.yarn_endpoint)."
            )
            raise YarnError(msg)
        return endpoints

    def client_settings(self) -> dict[str, Any]:
        """Settings of the RM client; one poller serves every kernel sharing them."""
        return {
            "user": self.yarn_user or getpass.getuser(),
            "auth": "kerberos" if self.yarn_endpoint_security_enabled else self.yarn_auth,
            "verify": (self.yarn_ca_bundle or True) if self.yarn_verify_tls else False,
            "timeout": self.yarn_request_timeout,
        }

    def _kernel_name(self) -> str:
        return str(getattr(self.parent, "kernel_name", "") or "?")

    def find_poller(self) -> YarnPoller:
        """The server's poller for this cluster (one per cluster and client settings)."""
        return pollers_of(self.services).get(
            self.endpoints(), interval=self.yarn_poll_interval, **self.client_settings()
        )

    @property
    def tag(self) -> str:
        """The application tag: the kernel id (YARN lower-cases tags)."""
        return str(self.kernel_id).lower()

    @property
    def watch_key(self) -> str:
        return self.tag

    def placeholder_values(self) -> dict[str, str]:
        values = super().placeholder_values()
        values.update(
            yarn_endpoints=",".join(self.endpoints()),
            yarn_queue=self.yarn_queue,
            bundle_env=self.bundle_env,
        )
        return values

    # ------------------------------------------------------------------ base hooks

    async def cluster_host(self) -> str:
        return urlsplit(self.endpoints()[0]).hostname or "127.0.0.1"

    def launcher_output_tail(self) -> str:
        return self._output.tail()

    # ------------------------------------------------------------------ launch

    async def start_launcher(
        self, cmd: list[str], env: dict[str, str], cwd: Optional[str], bundle: dict[str, Any]
    ) -> None:
        """Run the submit command and return once YARN has the application tagged with us.

        Called by :meth:`_start_and_wait` for every launch (restarts included). The bundle
        reaches the submit command in ``$<bundle_env>``, base64url encoded, which the submit
        command forwards as a container variable: it survives a NodeManager's
        ``export NAME="VALUE"`` unchanged. The request's ``KERNEL_*`` values travel inside
        it (``env``), so a value with quotes, ``$`` or backquotes reaches the kernel as it
        was sent instead of through the container's launch script.
        """
        self.poller = self.find_poller()
        # Before anything is submitted: an RM we cannot reach or authenticate to would
        # leave an application we could neither follow nor kill.
        await self.poller.client.run(self.poller.client.connect)
        self.watch()
        self.submitted = False
        self.begin_launch(f"running {Path(cmd[0]).name}")
        forwarded = {k: str(v) for k, v in env.items() if k.startswith("KERNEL_")}
        encoded = protocol.encode_bundle({**bundle, "env": forwarded}).decode().strip()
        submit_env = {**env, self.bundle_env: encoded, "KERNEL_ID": self.tag}
        # The launcher's sibling modules: the yarn_spark run.sh ships them with --files.
        submit_env["JRK_LAUNCHER_SIBLINGS"] = ",".join(map(str, launcher_files("python")[1:]))
        # EG's and GP's run.sh pass ${KERNEL_EXTRA_SPARK_OPTS} on to spark-submit but tag
        # nothing (they find the application by name): the tag it is found by here.
        extra = env.get("KERNEL_EXTRA_SPARK_OPTS", "")
        submit_env["KERNEL_EXTRA_SPARK_OPTS"] = f"{extra} --conf spark.yarn.tags={self.tag}".strip()
        try:
            self._submitter = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=submit_env,
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as exc:
            msg = (
                f"cannot run the submit command {cmd[0]!r} of kernelspec "
                f"'{self._kernel_name()}': {exc.strerror or exc}. Check the kernelspec's argv."
            )
            raise LaunchError(msg) from exc
        self.submitted = True
        self._output.follow(self._submitter.stdout, self._log_submit_output)
        round_timeout = 2 * self.yarn_poll_interval + self.yarn_request_timeout
        exited = False  # the submitter failed: one more round (spark-submit exits on a refusal)
        while True:
            app = self._our_app()
            if app is not None:
                self.job_id = app["id"]
                self.show_job(app)
                return
            code = self._submitter.returncode
            if exited:
                await self._output.finish()
                tail = self.launcher_output_tail()
                raise LaunchError(messages.submit_failed(str(self.kernel_id), self.tag, code, tail))
            exited = code not in (None, 0)
            await self.poller.next_round(round_timeout)

    def _our_app(self) -> Optional[dict[str, Any]]:
        """The newest application with our tag that no earlier launch of ours had."""
        assert self.poller is not None
        apps = [a for a in self.poller.apps(self.tag) if a.get("id") not in self.past_jobs]
        if self.job_id is not None:
            return next((a for a in apps if a.get("id") == self.job_id), None)
        if len(apps) > 1:  # e.g. a submitter that retried: keep the newest, kill the others
            extra = [a["id"] for a in apps[1:] if a.get("state") not in FINAL_STATES]
            self.log.warning("Kernel %s: several applications tagged; killing %s", self.tag, extra)
            self.past_jobs.update(a["id"] for a in apps[1:])
            for app_id in extra:
                task = asyncio.create_task(self._kill_app(app_id))
                self._kill_tasks.add(task)
                task.add_done_callback(self._kill_done)
        return apps[0] if apps else None

    def _kill_done(self, task: asyncio.Task) -> None:
        """A background kill (of an extra application) ended: log what went wrong, if anything.

        :meth:`_kill_app` logs the kill's own outcome; this catches what it did not expect.
        """
        self._kill_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            self.log.error(
                "Kernel %s: killing an extra YARN application failed: %r", self.tag, error
            )

    def _log_submit_output(self, text: str) -> None:
        self.log.debug("[submit %s] %s", self.tag, text)

    def cached_job(self, job_id: str) -> Optional[dict[str, Any]]:
        assert self.poller is not None
        return self.poller.app(self.tag, job_id)

    def show_job(self, job: dict[str, Any]) -> None:
        """Copy what YARN says about our application into the placement."""
        self.placement.state = job.get("state")
        self.placement.set_details(
            {
                "app_id": job.get("id"),
                "queue": job.get("queue"),
                "tracking_url": job.get("trackingUrl"),
            }
        )
        am_host = str(job.get("amHostHttpAddress") or "").rpartition(":")[0]
        if am_host and self.placement.phase != "ready":
            self.placement.host = am_host

    def location(self) -> str:
        """``yarn · APPLICATION on NODE`` (what is known of it so far)."""
        where = self.kind + (f" · {self.job_id}" if self.job_id else "")
        host = self.placement.host
        if not host:
            return where
        return f"{where} on {host}" if self.job_id else f"{where} · {host}"

    def location_suffix(self) -> str:
        where = f" in YARN application {self.job_id}" if self.job_id else ""
        return where + super().location_suffix()

    def job_ended(self, job: dict[str, Any]) -> bool:
        return job.get("state") in FINAL_STATES

    def launch_failed(self, job: dict[str, Any]) -> bool:
        # An AM that failed: YARN would retry it (max-app-attempts); we stop here.
        diagnostics = str(job.get("diagnostics") or "")
        return self.job_ended(job) or "Failing this attempt" in diagnostics

    async def launch_failure(self, job: dict[str, Any]) -> str:
        reason = messages.rejected_reason(job)
        if reason is not None:  # refused by the RM (a full or unknown queue): HTTP 503
            raise PlacementError(messages.rejected(job, str(self.kernel_id), reason))
        return messages.failed(job, str(self.kernel_id))

    def job_phase(self, job: dict[str, Any]) -> tuple[str, str]:
        return messages.launch_phase(job)

    def death(self, job: Optional[dict[str, Any]]) -> str:
        assert job is not None
        return messages.died(job, str(self.kernel_id), self.placement.host)

    def job_exit_code(self, job: Optional[dict[str, Any]]) -> int:
        return 0 if job is not None and job.get("state") == "FINISHED" else 1

    def timeout_message(self, timeout: float) -> str:
        """Why the launch ran out of time, from what YARN says of the application."""
        app = self.poller.app(self.tag, self.job_id) if self.poller and self.job_id else None
        return messages.timed_out(
            app,
            kernel_id=str(self.kernel_id),
            tag=self.tag,
            timeout=timeout,
            phase=self.placement.phase,
            host=self.placement.host,
            rm_error=self.poller.last_error if self.poller else None,
            submit_output=self.launcher_output_tail(),
            response_address=self.response_address,
        )

    # ------------------------------------------------------------------ stopping

    async def shutdown_requested(self, restart: bool = False) -> None:
        """The kernel got its shutdown request: have YARN kill the application now.

        Called by ``KernelManager.request_shutdown`` (shutdown and restart); the kill is
        confirmed in :meth:`release`.
        """
        if self.job_id is not None:
            self.placement.set_phase("shutting-down")
            await self._kill_now(self.job_id)

    async def kill(self, restart: bool = False) -> None:
        await super().kill(restart)
        if self.job_id is not None:
            await self._kill_now(self.job_id)

    async def _kill_now(self, app_id: str) -> None:
        if self.poller is not None:
            await send_kill(self.poller.client, app_id, self.tag, self.log)

    async def force_stop(self) -> None:
        """Stop the submit command and kill every application of this launch."""
        await self._stop_submitter()
        ids = {self.job_id} if self.job_id else set()
        if self.poller is not None and not ids and self.submitted:
            # Abandoned before we saw the application: ask the RM directly.
            client = self.poller.client
            ids = await unfinished_apps(
                client, self.tag, self.past_jobs, self.kill_timeout, self.log
            )
        for app_id in sorted(ids, key=app_id_key):
            await self._kill_app(app_id)
            self.past_jobs.add(app_id)

    async def release(self, restart: bool) -> None:
        """Make sure the application ended (kill + confirm), stop the submit command."""
        await self._stop_submitter()
        if self._kill_tasks:
            await asyncio.gather(*list(self._kill_tasks), return_exceptions=True)
        await super().release(restart)

    async def end_job(self, job_id: str) -> None:
        await self._kill_app(job_id)

    async def _kill_app(self, app_id: str) -> None:
        """Kill ``app_id`` unless it ended, and wait for YARN to confirm (logged)."""
        if self.poller is None:
            return
        state = await kill_and_confirm(
            self.poller.client, app_id, self.tag, self.kill_timeout, self.log
        )
        if state:
            self.placement.state = state

    async def _stop_submitter(self) -> None:
        process, self._submitter = self._submitter, None
        if process is not None:
            await stop_group(process)
        await self._output.finish()

    # ------------------------------------------------------------------ persistence

    def cluster_record(self) -> dict[str, Any]:
        # The cluster the application runs on, even if the kernelspec changes meanwhile.
        return {"endpoints": self.endpoints(), "user": self.client_settings()["user"]}

    def load_cluster_record(self, record: dict[str, Any]) -> None:
        endpoints = [e for e in record.get("endpoints") or [] if isinstance(e, str) and e]
        if endpoints:
            self.yarn_endpoint, self.alt_yarn_endpoints = endpoints[0], endpoints[1:]
        if record.get("user") and not self.yarn_user:
            self.yarn_user = str(record["user"])
