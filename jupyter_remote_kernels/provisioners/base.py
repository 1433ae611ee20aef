"""What every launcher-based provisioner shares.

A launcher-based provisioner starts a *launcher* next to the kernel (on this machine, an SSH
host or in a YARN container). The launcher reports the kernel's ports back to the server's
response address and then serves a communication port that turns authenticated messages
into signals. Subclasses only say how to start the launcher and how to stop it by force.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from typing import Any, Optional

import zmq
from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning.provisioner_base import KernelProvisionerBase
from traitlets import Bool, Float, List, Unicode, validate

from .._paths import launcher_path
from ..errors import (
    CommPortError,
    LaunchError,
    LaunchTimeout,
    NotAuthorized,
    RemoteKernelError,
)
from ..launch import protocol
from ..launch.comm import CommClient, CommRefused
from ..launch.legacy import LegacyCommClient
from ..launch.listener import ResponseListener
from ..placement import Placement

__all__ = ["LauncherProvisionerBase"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")
_PORT_RANGE = re.compile(r"^(\d+)\.\.(\d+)$")


def positive_seconds(proposal: dict) -> float:
    """Trait validator: a duration must be more than 0 seconds."""
    if proposal["value"] <= 0:
        msg = f"{proposal['trait'].name} must be more than 0 seconds"
        raise ValueError(msg)
    return proposal["value"]


class LauncherProvisionerBase(KernelProvisionerBase):  # type:ignore[misc]
    """Base class of the provisioners that start kernels through a launcher.

    jupyter_client's ``KernelManager`` calls, in order: :meth:`pre_launch`,
    :meth:`launch_kernel`, then :meth:`poll` / :meth:`send_signal` while the kernel runs,
    :meth:`terminate` / :meth:`kill` / :meth:`wait` to stop it and :meth:`cleanup` at the end.
    When ``restart`` is True, the same provisioner instance launches again right after
    ``cleanup``.
    """

    #: Placement kind shown in the REST API ("local", "ssh", "yarn").
    kind = "launcher"

    launch_timeout = Float(
        60.0,
        config=True,
        help="Seconds a launch may take, from start to the launcher's callback. A start "
        "request may lower or raise it with the KERNEL_LAUNCH_TIMEOUT env value.",
    )
    port_range = Unicode(
        "0..0",
        config=True,
        help="LOWER..UPPER range the kernel's five ports and the communication port are "
        "chosen from on the kernel's host; 0..0 lets the host pick any free port.",
    )
    kernel_class_name = Unicode(
        "ipykernel.ipkernel.IPythonKernel",
        config=True,
        help="Kernel class the Python launcher runs; fills {kernel_class_name} in argv.",
    )
    comm_timeout = Float(
        5.0,
        config=True,
        help="Seconds one message to a launcher's communication port may take.",
    )
    bind_all_interfaces = Bool(
        False,
        config=True,
        help="Let kernels bind all interfaces (0.0.0.0) instead of the one address the "
        "server uses to reach them.",
    )

    authorized_users = List(
        Unicode(),
        config=True,
        help="Users (KERNEL_USERNAME, i.e. the requester's effective kernel user) allowed to "
        "start this kernel; empty allows everyone. Enterprise Gateway's key of the same name.",
    )
    unauthorized_users = List(
        Unicode(),
        config=True,
        help="Users never allowed to start this kernel (checked before authorized_users).",
    )

    legacy_shutdown_grace = Float(
        0.2,
        config=True,
        help="Seconds a kernel on Enterprise Gateway's or gateway_provisioners' launcher "
        "(allow_legacy_launchers) gets to handle its shutdown request before it is sent "
        "SIGTERM, as EG does: such a kernel does not exit by itself within the shutdown "
        "wait time (ipykernel waits ~29 s for the launcher's exited listener process).",
    )

    @validate("port_range")
    def _validate_port_range(self, proposal: dict) -> str:
        value = str(proposal["value"]).strip()
        match = _PORT_RANGE.match(value)
        lower, upper = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
        if value != "0..0" and not (lower > 0 and upper < 65536 and upper - lower >= 5):
            msg = f"port_range must be LOWER..UPPER with at least 6 ports, or 0..0; got {value!r}"
            raise ValueError(msg)
        return value

    @validate("launch_timeout", "comm_timeout", "legacy_shutdown_grace")
    def _validate_positive(self, proposal: dict) -> float:
        return positive_seconds(proposal)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.placement = Placement(provisioner=self._provisioner_name(), kind=self.kind)
        self._auth_key: Optional[str] = None
        self._comm: Optional[CommClient] = None
        self._listener: Optional[ResponseListener] = None
        self._owns_listener = False
        self._response_address = ""
        self._unanswered_pings = 0
        self._reattach: Optional[dict[str, Any]] = None
        self._reattach_used = False
        self.kernel_pgid: Optional[int] = None
        self._curve_wanted = False

    # ------------------------------------------------------------------ subclass hooks

    async def response_ip(self) -> str:
        """The local address the launcher must call back to."""
        raise NotImplementedError

    def kernel_bind_ip(self) -> str:
        """The address the kernel binds on its host."""
        raise NotImplementedError

    def connect_ip(self, info: dict[str, Any]) -> str:
        """The address the server connects to the kernel on, given the callback info."""
        raise NotImplementedError

    async def start_launcher(
        self, cmd: list[str], env: dict[str, str], cwd: Optional[str], bundle: dict[str, Any]
    ) -> None:
        """Start the launcher and hand it ``bundle``, the per-kernel secrets.

        The bundle travels encoded by :func:`~jupyter_remote_kernels.launch.protocol.encode_bundle`
        (one shell-safe line) through the launch channel: the launcher's stdin, or one
        environment variable of a container; never through argv.
        """
        raise NotImplementedError

    async def launcher_exit_code(self) -> Optional[int]:
        """The launcher's exit code if this provisioner can see it has exited, else None."""
        return None

    async def force_stop(self) -> None:
        """Stop launcher and kernel without the communication port (last resort)."""

    async def release(self, restart: bool) -> None:
        """Free what the launch held (process handles, host slot, connections)."""

    def launcher_output_tail(self) -> str:
        """The last lines the launcher printed, for error messages, when known."""
        return ""

    # ------------------------------------------------------------------ launch

    def format_command(self, cmd: list[str], values: dict[str, str]) -> list[str]:
        """Fill the launch-time placeholders ``{name}``; unknown names stay as they are."""

        def fill(match: re.Match) -> str:
            return values.get(match.group(1), match.group(0))

        return [_PLACEHOLDER.sub(fill, arg) for arg in cmd]

    def placeholder_values(self) -> dict[str, str]:
        return {
            "kernel_id": str(self.kernel_id),
            "response_address": self._response_address,
            "public_key": "none",
            "port_range": self.port_range,
            "kernel_class_name": self.kernel_class_name,
            "launcher": self.launcher_location(),
            # gateway_provisioners' launcher makes its own CurveZMQ keys when asked to.
            "transport_encryption": "required" if self._curve_wanted else "disabled",
        }

    def launcher_location(self) -> str:
        """What ``{launcher}`` in argv becomes: the Python launcher's path on the kernel's host."""
        return str(launcher_path("python"))

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """Make the per-kernel secret, open the response address and format argv.

        Called by ``KernelManager.pre_start_kernel`` before every launch, restarts included.
        With ``jrk_reattach`` (a record from an earlier server, passed by
        ``RemoteMappingKernelManager.reattach_kernels``) the next launch reconnects instead.
        """
        reattach = kwargs.pop("jrk_reattach", None)
        if reattach is not None and not self._reattach_used:
            self._reattach_used = True
            self._reattach = reattach
            await self.load_provisioner_info(reattach["provisioner_info"])
            self.parent.load_connection_info(reattach["connection_info"])
            return await super().pre_launch(cmd=[], **kwargs)
        self._reattach = None
        self._check_user((kwargs.get("env") or {}).get("KERNEL_USERNAME"))
        self._auth_key = protocol.new_auth_key()
        self._listener = self._find_listener()
        self._response_address = await self._listener.address_for(await self.response_ip())
        self.placement.set_phase("starting")
        km = self.parent
        self._prepare_curve_keys(km)
        # format_kernel_cmd resolves paths on disk: keep it off the event loop.
        cmd = await asyncio.to_thread(
            km.format_kernel_cmd, extra_arguments=kwargs.get("extra_arguments")
        )
        values = self.placeholder_values()
        if any("{public_key}" in arg for arg in cmd):
            # Enterprise Gateway's launcher encrypts its callback to this key.
            values["public_key"] = await self._listener.legacy_public_key()
        cmd = self.format_command(cmd, values)
        return await super().pre_launch(cmd=cmd, **kwargs)

    def _check_user(self, user: Optional[str]) -> None:
        """Apply the kernelspec's ``unauthorized_users`` / ``authorized_users`` to ``user``."""
        name = self.kernel_spec.display_name if self.kernel_spec else self.kernel_id
        if user is not None and user in self.unauthorized_users:
            msg = f"User {user!r} may not start {name!r} kernels (unauthorized_users)."
            raise NotAuthorized(msg)
        if self.authorized_users and user not in self.authorized_users:
            msg = (
                f"User {user!r} is not among the users allowed to start {name!r} kernels "
                "(authorized_users); ask an administrator for access."
            )
            raise NotAuthorized(msg)

    def _prepare_curve_keys(self, km: Any) -> None:
        """Make the kernel's CurveZMQ keypair when transport encryption applies to it.

        ``MappingKernelManager.transport_encryption`` = ``required`` encrypts every kernel
        (jupyter_client refuses kernelspecs that do not declare ``supported_encryption``);
        ``auto`` encrypts kernels whose kernelspec declares it. The keypair is made here,
        on the server, and travels to the launcher inside the launch bundle (stdin of the
        SSH session or the local pipe), never in clear over the network. jupyter_client's
        clients reuse the kernel's keypair, so the server must know the secret key.
        """
        policy = str(getattr(km, "transport_encryption", "disabled") or "disabled").lower()
        supported = (self.kernel_spec.metadata or {}).get("supported_encryption") or []
        if isinstance(supported, str):
            supported = [supported]
        declared = "curve" in {str(item).strip().lower() for item in supported}
        self._curve_wanted = policy == "required" or (policy == "auto" and declared)
        if self._curve_wanted:
            if km.curve_publickey is None or km.curve_secretkey is None:
                km.curve_publickey, km.curve_secretkey = zmq.curve_keypair()
        else:
            km.curve_publickey = km.curve_secretkey = None

    def _launch_timeout(self, env: dict[str, str]) -> float:
        value = env.get("KERNEL_LAUNCH_TIMEOUT")
        if value is None:
            return self.launch_timeout
        try:
            timeout = float(value)
        except ValueError:
            timeout = -1.0
        if timeout <= 0:
            msg = f"KERNEL_LAUNCH_TIMEOUT must be a positive number of seconds, not {value!r}"
            raise LaunchError(msg)
        return timeout

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        """Start the launcher and wait for its authenticated callback.

        Called by ``KernelManager.start_kernel`` (and on restart). On any failure or
        timeout the launcher and its kernel are stopped before the error is raised.
        """
        if self._reattach is not None:
            return await self._reconnect(self._reattach)
        km = self.parent
        env = kwargs.get("env") or {}
        timeout = self._launch_timeout(env)
        assert self._listener is not None
        assert self._auth_key is not None
        waiter = self._listener.expect(str(self.kernel_id), self._auth_key)
        bundle = {
            "protocol": "jrk-launch/1",
            "kernel_id": self.kernel_id,
            "auth_key": self._auth_key,
            "key": km.session.key.decode(),
            "signature_scheme": km.session.signature_scheme,
            "ip": "0.0.0.0" if self.bind_all_interfaces else self.kernel_bind_ip(),  # noqa: S104
            **self._curve_bundle(km),
        }
        try:
            info = await asyncio.wait_for(
                self._start_and_wait(cmd, env, kwargs.get("cwd"), bundle, waiter), timeout
            )
        except asyncio.TimeoutError:
            error: Exception = LaunchTimeout(self._timeout_message(timeout))
        except asyncio.CancelledError:
            await self._abort_launch("the launch was cancelled")
            raise
        except Exception as exc:
            error = exc
        else:
            try:
                return self._ready(info)
            except LaunchError as exc:
                error = exc
        await self._abort_launch(str(error))
        if isinstance(error, RemoteKernelError):
            raise error  # already says what, where and what to do (and its HTTP status)
        msg = f"Kernel {self.kernel_id} failed to launch: {error}"
        raise LaunchError(msg) from error

    @staticmethod
    def _curve_bundle(km: Any) -> dict[str, str]:
        if km.curve_publickey is None or km.curve_secretkey is None:
            return {}
        return {
            "curve_publickey": km.curve_publickey.decode(),
            "curve_secretkey": km.curve_secretkey.decode(),
        }

    async def _reconnect(self, record: dict[str, Any]) -> KernelConnectionInfo:
        """Reattach to a kernel an earlier server started, if its launcher still answers.

        Only an authenticated "alive" answer counts. A kernel found dead (or unreachable) is
        stopped by force before the error is raised: what may be left of it (a YARN
        application still RUNNING, a launcher's process group on its host) must not stay.
        """
        reason = "its launcher does not answer"
        alive = False
        if self._comm is not None and await self.launcher_exit_code() is None:
            try:
                reply = await self._comm.send("ping")
            except CommPortError as exc:
                reason = str(exc)
            else:
                alive = bool(reply.get("alive"))
                reason = "its kernel has exited" if not alive else reason
        if not alive:
            msg = f"Kernel {self.kernel_id}{self._where()} is no longer running ({reason})"
            await self._abort_launch(msg)
            self.placement.set_phase("dead", error=msg)
            raise LaunchError(msg)
        self.placement.set_phase("ready", "reattached")
        connection = dict(record["connection_info"])
        connection["key"] = connection["key"].encode()
        self.connection_info = connection
        return self.connection_info

    def _timeout_message(self, timeout: float) -> str:
        tail = self.launcher_output_tail()
        return (
            f"Kernel {self.kernel_id}{self._where()} did not call back within {timeout:.0f} s "
            f"(launch phase: {self.placement.phase}). Raise launch_timeout in the "
            "kernelspec's process_proxy.config or check the kernel's host."
            + (f"\nLauncher output:\n{tail}" if tail else "")
        )

    async def _start_and_wait(
        self,
        cmd: list[str],
        env: dict[str, str],
        cwd: Optional[str],
        bundle: dict[str, Any],
        waiter: asyncio.Future,
    ) -> dict[str, Any]:
        await self.start_launcher(cmd, env, cwd, bundle)
        if self.placement.phase == "starting":
            self.placement.set_phase("waiting-for-launcher", self.placement.detail)
        while True:
            done, _ = await asyncio.wait({waiter}, timeout=0.2)
            if done:
                if waiter.cancelled():
                    msg = f"The launch of kernel {self.kernel_id} was abandoned (server stopping)"
                    raise LaunchError(msg)
                try:
                    return waiter.result()
                except LaunchError as exc:
                    msg = f"Kernel {self.kernel_id} failed to start{self._where()}: {exc}"
                    raise LaunchError(msg) from exc
            await self.follow_launch()

    async def follow_launch(self) -> None:
        """Raise :class:`LaunchError` if the launch has failed; update the placement.

        Called every 0.2 s while the launch waits for the launcher's callback. By default
        a launcher that has exited is a failed launch; placements with more to follow
        (a YARN application's state) override it.
        """
        code = await self.launcher_exit_code()
        if code is not None:
            tail = self.launcher_output_tail()
            msg = (
                f"The launcher of kernel {self.kernel_id}{self._where()} exited with code "
                f"{code} before calling back. Check the kernelspec's argv and that the "
                "kernel's Python has ipykernel." + (f"\nLauncher output:\n{tail}" if tail else "")
            )
            raise LaunchError(msg)

    def _where(self) -> str:
        return f" on {self.placement.host}" if self.placement.host else ""

    def _ready(self, info: dict[str, Any]) -> KernelConnectionInfo:
        km = self.parent
        ip = self.connect_ip(info)
        assert self._auth_key is not None
        if info.get("legacy"):
            # Enterprise Gateway's launcher: its own signing key, an unauthenticated port.
            self._comm = LegacyCommClient(
                ip, info["comm_port"], str(self.kernel_id), info["hb_port"], self.comm_timeout
            )
            km.session.key = info["key"].encode()
            km.session.signature_scheme = info["signature_scheme"]
            # Its own CurveZMQ keys, if it made them ({transport_encryption}); else none.
            curve = info.get("curve_publickey"), info.get("curve_secretkey")
            if self._curve_wanted and not all(curve):
                msg = (
                    f"Kernel {self.kernel_id}: transport encryption is required but the "
                    "legacy launcher set up no CurveZMQ keys; migrate the kernelspec "
                    "(jupyter remote-kernels migrate)"
                )
                raise LaunchError(msg)
            km.curve_publickey, km.curve_secretkey = (
                (curve[0].encode(), curve[1].encode()) if all(curve) else (None, None)
            )
        else:
            self._comm = CommClient(
                ip,
                info["comm_port"],
                str(self.kernel_id),
                self._auth_key,
                timeout=self.comm_timeout,
            )
        self._unanswered_pings = 0
        # ``host`` stays the name the provisioner placed the kernel on (a remote_hosts
        # entry, the YARN node, this machine), whichever launcher runs there; the host's
        # own name, when the launcher reports it, goes in ``detail``.
        reported = str(info.get("host") or "")
        self.placement.host = self.placement.host or reported or None
        self.placement.ip = ip
        self.placement.pid = info["pid"]
        self.kernel_pgid = info.get("pgid")
        self.placement.set_phase(
            "ready",
            f"hostname {reported}" if reported and reported != self.placement.host else "",
        )
        if self._listener is not None:
            self._listener.forget(str(self.kernel_id))
        self.connection_info = {
            "transport": "tcp",
            "ip": ip,
            **{name: info[name] for name in protocol.PORT_NAMES},
            "key": km.session.key,
            "signature_scheme": km.session.signature_scheme,
            "kernel_name": km.kernel_name,
            **self._curve_bundle(km),
        }
        return self.connection_info

    async def _abort_launch(self, reason: str) -> None:
        self.placement.set_phase("failed", error=reason)
        if self._listener is not None:
            self._listener.forget(str(self.kernel_id))
        await self.force_stop()
        await self.release(restart=False)
        self._comm = None

    async def post_launch(self, **kwargs: Any) -> None:
        """Record the running kernel so a restarted server can reattach to it.

        Called by ``KernelManager.post_start_kernel`` after every launch, restarts included.
        """
        await super().post_launch(**kwargs)
        manager = self._find_in_parents("remember_kernel")
        if manager is not None:
            await manager.remember_kernel(self.parent)

    # ------------------------------------------------------------------ lifecycle

    @property
    def _unreachable(self) -> bool:
        """The kernel's communication port stopped answering (host down or cut off).

        Once poll() has reported it dead for that, the shutdown or restart that follows
        does not wait for the port again for each of its steps.
        """
        return self._unanswered_pings >= 3

    @property
    def has_process(self) -> bool:
        """True while a launched kernel is being managed."""
        return self._comm is not None

    async def poll(self) -> Optional[int]:
        """None while the kernel runs, else its exit code.

        Called by ``KernelManager.is_alive`` (the restarter, every few seconds, and every
        0.1 s while a shutdown waits). Answers from the launcher's process when this
        provisioner sees it, else with one authenticated ping.
        """
        code = await self.launcher_exit_code()
        if code is not None or self._comm is None:
            return code if code is not None else 0
        if self._unreachable:
            return 1
        try:
            reply = await self._comm.send("ping")
        except CommRefused:
            return 1
        except CommPortError as exc:
            self._unanswered_pings += 1
            if self._unanswered_pings >= 3:
                self.log.warning("Kernel %s is unreachable: %s", self.kernel_id, exc)
                return 1
            return None
        self._unanswered_pings = 0
        if reply.get("alive"):
            return None
        exit_code = reply.get("exit_code")
        return exit_code if isinstance(exit_code, int) else 1

    async def wait(self) -> Optional[int]:
        """Wait until the kernel has exited; callers bound it with a timeout."""
        while True:
            code = await self.poll()
            if code is not None:
                return code
            await asyncio.sleep(0.1)

    async def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the kernel's process group through the communication port.

        Called by ``KernelManager.signal_kernel`` / ``interrupt_kernel`` (SIGINT).
        """
        if self._comm is None:
            return
        if signum == 0:
            await self.poll()
            return
        if self._unreachable:
            return
        if (
            signum == signal.SIGINT
            and isinstance(self._comm, LegacyCommClient)
            and getattr(self.parent, "shutting_down", False)
        ):
            # jupyter_client interrupts a kernel right before it sends the shutdown request.
            # A kernel on EG's / GP's launcher would answer the request by stopping the
            # launcher's listener and then wait ~29 s for it: SIGTERM it now, through the
            # listener while it still listens (as EG stops such kernels).
            await self._stop_command("terminate")
            return
        cmd = "interrupt" if signum == signal.SIGINT else "signal"
        try:
            await self._comm.send(cmd, signum)
        except CommRefused:
            self.log.debug("Kernel %s is gone; signal %d not sent", self.kernel_id, signum)
        except CommPortError as exc:
            # An unreachable host (down, cut off): jupyter_client interrupts before every
            # shutdown and restart, which must go on; poll() reports the kernel dead.
            self.log.warning("Signal %d not delivered: %s", signum, exc)

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float:
        """Seconds ``KernelManager.finish_shutdown`` waits in all (half, then SIGTERM).

        Called by jupyter_client during a graceful shutdown or restart. A legacy launcher's
        kernel never exits by itself in time (see LegacyCommClient), so it gets
        ``legacy_shutdown_grace`` before the SIGTERM instead of half the recommended time.
        """
        if isinstance(self._comm, LegacyCommClient):
            return min(recommended, 2 * self.legacy_shutdown_grace)
        return recommended

    async def terminate(self, restart: bool = False) -> None:
        """Ask the kernel to stop (SIGTERM to its group); called during shutdown."""
        await self._stop_command("terminate")

    async def kill(self, restart: bool = False) -> None:
        """Kill the kernel (SIGKILL to its group); called when a shutdown runs out of time."""
        await self._stop_command("kill")

    async def _stop_command(self, cmd: str) -> None:
        if self._comm is None:
            return
        self.placement.set_phase("shutting-down")
        if self._unreachable:
            await self.force_stop()
            return
        try:
            await self._comm.send(cmd)
        except CommRefused:
            return
        except CommPortError as exc:
            self.log.warning("%s; stopping kernel %s by force", exc, self.kernel_id)
            await self.force_stop()

    async def cleanup(self, restart: bool = False) -> None:
        """Free everything the kernel held; called after it stopped (and before a restart)."""
        if self._listener is not None:
            self._listener.forget(str(self.kernel_id))
        if self._comm is not None:
            code = await self.launcher_exit_code()
            if code is None and not self._unreachable:
                # The kernel is gone by now unless something went wrong: make sure.
                with contextlib.suppress(CommPortError):
                    await self._comm.send("kill")
        await self.release(restart)
        self._comm = None
        self.placement.set_phase("starting" if restart else "dead")
        if not restart:
            manager = self._find_in_parents("forget_kernel")
            if manager is not None:
                await manager.forget_kernel(str(self.kernel_id))
        if self._owns_listener and not restart and self._listener is not None:
            await self._listener.close()
            self._listener = None

    async def get_provisioner_info(self) -> dict[str, Any]:
        """What a later server needs to find this kernel again (see ``load_provisioner_info``)."""
        info = await super().get_provisioner_info()
        info["placement"] = self.placement.to_dict()
        if self._comm is not None:
            info["comm"] = {"host": self._comm.host, "port": self._comm.port}
            if isinstance(self._comm, LegacyCommClient):
                info["comm"]["legacy_hb_port"] = self._comm.hb_port
            info["auth_key"] = self._auth_key
            info["pgid"] = self.kernel_pgid
        return info

    async def load_provisioner_info(self, provisioner_info: dict) -> None:
        """Re-establish contact with a kernel started by an earlier server process."""
        await super().load_provisioner_info(provisioner_info)
        placement = provisioner_info.get("placement") or {}
        for name, value in placement.items():
            if hasattr(self.placement, name):
                setattr(self.placement, name, value)
        comm = provisioner_info.get("comm")
        self._auth_key = provisioner_info.get("auth_key")
        self.kernel_pgid = provisioner_info.get("pgid")
        if comm and comm.get("legacy_hb_port"):
            self._comm = LegacyCommClient(
                comm["host"],
                int(comm["port"]),
                str(self.kernel_id),
                int(comm["legacy_hb_port"]),
                self.comm_timeout,
            )
        elif comm and self._auth_key:
            self._comm = CommClient(
                comm["host"],
                int(comm["port"]),
                str(self.kernel_id),
                self._auth_key,
                timeout=self.comm_timeout,
            )

    # ------------------------------------------------------------------ helpers

    def _provisioner_name(self) -> str:
        spec = self.kernel_spec
        metadata = getattr(spec, "metadata", None) or {}
        name = (metadata.get("kernel_provisioner") or {}).get("provisioner_name")
        return str(name or type(self).__name__)

    def _find_in_parents(self, attribute: str) -> Any:
        """The nearest parent (kernel manager, then the server's manager) with ``attribute``."""
        node = self.parent
        while node is not None:
            if hasattr(node, attribute):
                return node
            node = getattr(node, "parent", None)
        return None

    def _find_listener(self) -> ResponseListener:
        """The server's listener (found through the kernel manager), else one of our own."""
        if self._listener is not None:
            return self._listener
        manager = self._find_in_parents("response_listener")
        listener = getattr(manager, "response_listener", None)
        if isinstance(listener, ResponseListener):
            return listener
        self._owns_listener = True
        return ResponseListener(parent=self, log=self.log)
