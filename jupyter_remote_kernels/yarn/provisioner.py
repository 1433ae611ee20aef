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

Launch phases: ``submitting`` (no application yet) -> ``queued`` (no AM container yet, YARN's
diagnostics in ``detail``) -> ``waiting-for-launcher`` (an AM container runs) -> ``ready``.
"""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

from .._paths import launcher_files
from ..errors import LaunchError, PlacementError, YarnError
from ..launch import protocol
from ..netutil import route_ip
from ..process import OutputTail, stop_group
from ..provisioning import LauncherProvisionerBase
from . import messages
from .client import FINAL_STATES, app_id_key
from .kill import kill_and_confirm, send_kill, unfinished_apps
from .poller import YarnPoller, pollers_of
from .settings import YarnSettings

__all__ = ["YarnProvisioner"]


class YarnProvisioner(YarnSettings, LauncherProvisionerBase):  # type:ignore[misc]
    """Submits the kernel's launcher to YARN and follows it through the RM REST API."""

    kind = "yarn"
    launch_env_names = frozenset({"KERNEL_EXTRA_SPARK_OPTS"})
    cwd_from = ""  # a kernel runs in its container's folder

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._poller: Optional[YarnPoller] = None
        self._watching = False
        self._app_id: Optional[str] = None
        self._submitted = False
        self._past_apps: set[str] = set()
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

    def _find_poller(self) -> YarnPoller:
        """The server's poller for this cluster (one per cluster and client settings)."""
        return pollers_of(self.services).get(
            self.endpoints(), interval=self.yarn_poll_interval, **self.client_settings()
        )

    @property
    def tag(self) -> str:
        """The application tag: the kernel id (YARN lower-cases tags)."""
        return str(self.kernel_id).lower()

    def placeholder_values(self) -> dict[str, str]:
        values = super().placeholder_values()
        values.update(
            yarn_endpoints=",".join(self.endpoints()),
            yarn_queue=self.yarn_queue,
            bundle_env=self.bundle_env,
        )
        return values

    # ------------------------------------------------------------------ base hooks

    async def response_ip(self) -> str:
        if self.callback_ip:
            return self.callback_ip
        host = urlsplit(self.endpoints()[0]).hostname or "127.0.0.1"
        return await asyncio.to_thread(route_ip, host, "127.0.0.1")

    def kernel_bind_ip(self) -> str:
        # Empty: the launcher binds the address of its container's node ($NM_HOST).
        return ""

    def connect_ip(self, info: dict[str, Any]) -> str:
        ip = str(info.get("ip") or "")
        if ip in ("", "0.0.0.0", "::"):  # noqa: S104 - bind_all_interfaces
            ip = str(info.get("host") or self.placement.host or "")
        return ip

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
        self._poller = self._find_poller()
        # Before anything is submitted: an RM we cannot reach or authenticate to would
        # leave an application we could neither follow nor kill.
        await self._poller.client.run(self._poller.client.connect)
        if not self._watching:
            self._poller.watch(self.tag, self._on_poll)
            self._watching = True
        self._app_id = None
        self._submitted = False
        for name in ("app_id", "queue", "tracking_url", "state", "host"):
            setattr(self.placement, name, None)
        self.placement.set_phase("submitting", f"running {Path(cmd[0]).name}")
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
        self._submitted = True
        self._output.follow(self._submitter.stdout, self._log_submit_output)
        round_timeout = 2 * self.yarn_poll_interval + self.yarn_request_timeout
        exited = False  # the submitter failed: one more round (spark-submit exits on a refusal)
        while True:
            app = self._our_app()
            if app is not None:
                self._app_id = app["id"]
                self._show(app)
                return
            code = self._submitter.returncode
            if exited:
                await self._output.finish()
                tail = self.launcher_output_tail()
                raise LaunchError(messages.submit_failed(str(self.kernel_id), self.tag, code, tail))
            exited = code not in (None, 0)
            await self._poller.next_round(round_timeout)

    def _our_app(self) -> Optional[dict[str, Any]]:
        """The newest application with our tag that no earlier launch of ours had."""
        assert self._poller is not None
        apps = [a for a in self._poller.apps(self.tag) if a.get("id") not in self._past_apps]
        if self._app_id is not None:
            return next((a for a in apps if a.get("id") == self._app_id), None)
        if len(apps) > 1:  # e.g. a submitter that retried: keep the newest, kill the others
            extra = [a["id"] for a in apps[1:] if a.get("state") not in FINAL_STATES]
            self.log.warning("Kernel %s: several applications tagged; killing %s", self.tag, extra)
            self._past_apps.update(a["id"] for a in apps[1:])
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

    def _on_poll(self) -> None:
        """After each poll round (called by the poller): keep the placement up to date."""
        if self._poller is not None and self._app_id is not None:
            app = self._poller.app(self.tag, self._app_id)
            if app is not None:
                self._show(app)

    def _show(self, app: dict[str, Any]) -> None:
        """Copy what YARN says about our application into the placement."""
        self.placement.app_id = app.get("id")
        self.placement.queue = app.get("queue")
        self.placement.state = app.get("state")
        self.placement.tracking_url = app.get("trackingUrl")
        am_host = str(app.get("amHostHttpAddress") or "").rpartition(":")[0]
        if am_host and self.placement.phase != "ready":
            self.placement.host = am_host

    def location(self) -> str:
        where = f" in YARN application {self._app_id}" if self._app_id else ""
        return where + super().location()

    async def follow_launch(self) -> None:
        """Follow the application's state (from the shared poller) while the launch waits.

        The application's state, not a local process, says whether the launch goes on
        (queued, running) or has failed.
        """
        if self._poller is None or self._app_id is None:
            return
        self._follow_launch()

    def _follow_launch(self) -> None:
        assert self._poller is not None
        assert self._app_id is not None
        app = self._poller.app(self.tag, self._app_id)
        if app is None:
            return
        self._show(app)
        state, diagnostics = app.get("state"), str(app.get("diagnostics") or "").strip()
        if state in FINAL_STATES or "Failing this attempt" in diagnostics:
            reason = messages.rejected_reason(app)
            if reason is not None:
                raise PlacementError(messages.rejected(app, str(self.kernel_id), reason))
            # An AM that failed: YARN would retry it (max-app-attempts); we stop here.
            raise LaunchError(messages.failed(app, str(self.kernel_id)))
        self.placement.set_phase(*messages.launch_phase(app))

    def timeout_message(self, timeout: float) -> str:
        """Why the launch ran out of time, from what YARN says of the application."""
        app = self._poller.app(self.tag, self._app_id) if self._poller and self._app_id else None
        return messages.timed_out(
            app,
            kernel_id=str(self.kernel_id),
            tag=self.tag,
            timeout=timeout,
            phase=self.placement.phase,
            host=self.placement.host,
            rm_error=self._poller.last_error if self._poller else None,
            submit_output=self.launcher_output_tail(),
            response_address=self.response_address,
        )

    # ------------------------------------------------------------------ stopping

    async def launcher_exit_code(self) -> Optional[int]:
        """From the poller's cached state: 0 when the application finished, else 1.

        An application that ended under a ready kernel (its node lost, killed by an admin,
        preempted) is reported: phase ``dead`` with YARN's diagnostics, and a warning in
        the server log, before Jupyter's restarter acts on the exit code.
        """
        if self._poller is None or self._app_id is None:
            return None
        app = self._poller.app(self.tag, self._app_id)
        if app is not None:
            self._show(app)
        if app is None or app.get("state") not in FINAL_STATES:
            return None
        if self.placement.phase == "ready":
            reason = messages.died(app, str(self.kernel_id), self.placement.host)
            self.log.warning(reason)
            self.placement.set_phase("dead", error=reason)
        return 0 if app.get("state") == "FINISHED" else 1

    async def shutdown_requested(self, restart: bool = False) -> None:
        """The kernel got its shutdown request: have YARN kill the application now.

        Called by ``KernelManager.request_shutdown`` (shutdown and restart); the kill is
        confirmed in :meth:`release`.
        """
        if self._app_id is not None:
            self.placement.set_phase("shutting-down")
            await self._kill_now(self._app_id)

    async def kill(self, restart: bool = False) -> None:
        await super().kill(restart)
        if self._app_id is not None:
            await self._kill_now(self._app_id)

    async def _kill_now(self, app_id: str) -> None:
        if self._poller is not None:
            await send_kill(self._poller.client, app_id, self.tag, self.log)

    async def force_stop(self) -> None:
        """Stop the submit command and kill every application of this launch."""
        await self._stop_submitter()
        ids = {self._app_id} if self._app_id else set()
        if self._poller is not None and not ids and self._submitted:
            # Abandoned before we saw the application: ask the RM directly.
            client = self._poller.client
            ids = await unfinished_apps(
                client, self.tag, self._past_apps, self.kill_timeout, self.log
            )
        for app_id in sorted(ids, key=app_id_key):
            await self._kill_app(app_id)
            self._past_apps.add(app_id)

    async def release(self, restart: bool) -> None:
        """Make sure the application ended (kill + confirm), stop the submit command."""
        await self._stop_submitter()
        if self._kill_tasks:
            await asyncio.gather(*list(self._kill_tasks), return_exceptions=True)
        if self._app_id is not None:
            await self._kill_app(self._app_id)
            self._past_apps.add(self._app_id)
            self._app_id = None
        if self._poller is not None and self._watching and not restart:
            self._poller.unwatch(self.tag)
            self._watching = False

    async def _kill_app(self, app_id: str) -> None:
        """Kill ``app_id`` unless it ended, and wait for YARN to confirm (logged)."""
        if self._poller is None:
            return
        state = await kill_and_confirm(
            self._poller.client, app_id, self.tag, self.kill_timeout, self.log
        )
        if state:
            self.placement.state = state

    async def _stop_submitter(self) -> None:
        process, self._submitter = self._submitter, None
        if process is not None:
            await stop_group(process)
        await self._output.finish()

    # ------------------------------------------------------------------ persistence

    async def get_provisioner_info(self) -> dict[str, Any]:
        info = await super().get_provisioner_info()
        info["yarn"] = {
            "app_id": self._app_id,
            "past_apps": sorted(self._past_apps),
            # The cluster the application runs on, even if the kernelspec changes meanwhile.
            "endpoints": self.endpoints(),
            "user": self.client_settings()["user"],
        }
        return info

    async def load_provisioner_info(self, provisioner_info: dict) -> None:
        """Follow the application again after a server restart."""
        await super().load_provisioner_info(provisioner_info)
        yarn = provisioner_info.get("yarn") or {}
        endpoints = [e for e in yarn.get("endpoints") or [] if isinstance(e, str) and e]
        if endpoints:
            self.yarn_endpoint, self.alt_yarn_endpoints = endpoints[0], endpoints[1:]
        if yarn.get("user") and not self.yarn_user:
            self.yarn_user = str(yarn["user"])
        self._app_id = yarn.get("app_id")
        self._past_apps = set(yarn.get("past_apps") or [])
        if self._app_id:
            self._poller = self._find_poller()
            self._poller.watch(self.tag, self._on_poll)
            self._watching = True
