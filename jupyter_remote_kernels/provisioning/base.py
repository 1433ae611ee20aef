"""What every launcher-based provisioner shares.

A launcher-based provisioner starts a *launcher* next to the kernel (on this machine, an SSH
host or in a YARN container). The launcher reports the kernel's ports back to the server's
response address and then serves a communication port that turns authenticated messages
into signals. Subclasses only say where the launcher runs, how to start it and how to stop
it by force.
"""

from __future__ import annotations

import abc
import asyncio
import re
from typing import Any, Optional

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning.provisioner_base import KernelProvisionerBase

from ..errors import LaunchError, LaunchTimeout, RemoteKernelError
from ..launch import protocol
from ..launch.bundle import curve_fields, make_bundle, prepare_curve_keys
from ..launch.link import LauncherLink
from ..launch.listener import SERVICE as RESPONSE_LISTENER
from ..launch.listener import ResponseListener
from ..paths import launcher_files
from ..placement import Placement
from ..services import Services, services_of
from .authorization import AuthorizationMixin
from .lifecycle import LifecycleMixin
from .pooling import PoolingMixin
from .reattach import ReattachMixin
from .settings import LauncherSettings

__all__ = ["LauncherProvisionerBase"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")


class LauncherProvisionerBase(  # type:ignore[misc]
    LauncherSettings,
    AuthorizationMixin,
    PoolingMixin,
    ReattachMixin,
    LifecycleMixin,
    KernelProvisionerBase,
):
    """Base class of the provisioners that start kernels through a launcher.

    jupyter_client's ``KernelManager`` calls, in order: :meth:`pre_launch`,
    :meth:`launch_kernel`, then :meth:`poll` / :meth:`send_signal` while the kernel runs,
    :meth:`terminate` / :meth:`kill` / :meth:`wait` to stop it and :meth:`cleanup` at the end.
    When ``restart`` is True, the same provisioner instance launches again right after
    ``cleanup``.
    """

    #: Placement kind shown in the REST API ("local", "ssh", "yarn").
    kind = "launcher"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.placement = Placement(
            provisioner=self._provisioner_name(), kind=self.kind, locator=self.location
        )
        self.link: Optional[LauncherLink] = None
        self.kernel_pgid: Optional[int] = None
        self.response_address = ""
        self._auth_key: Optional[str] = None
        self._listener: Optional[ResponseListener] = None
        self._own_services: Optional[Services] = None
        self._reattach: Optional[dict[str, Any]] = None
        self._reattach_used = False
        self._curve_wanted = False

    # ------------------------------------------------------------------ subclass hooks

    @abc.abstractmethod
    async def response_ip(self) -> str:
        """The local address the launcher must call back to."""

    @abc.abstractmethod
    def kernel_bind_ip(self) -> str:
        """The address the kernel binds on its host."""

    @abc.abstractmethod
    def connect_ip(self, info: dict[str, Any]) -> str:
        """The address the server connects to the kernel on, given the callback info."""

    @abc.abstractmethod
    async def start_launcher(
        self, cmd: list[str], env: dict[str, str], cwd: Optional[str], bundle: dict[str, Any]
    ) -> None:
        """Start the launcher and hand it ``bundle``, the per-kernel secrets.

        Called by :meth:`launch_kernel` for every launch, restarts included. The bundle
        travels encoded by :func:`~jupyter_remote_kernels.launch.protocol.encode_bundle`
        (one shell-safe line) through the launch channel: the launcher's stdin, or one
        environment variable of a container; never through argv.
        """

    async def release(self, restart: bool) -> None:
        """Free what the launch held (process handles, host slot, connections)."""

    def launcher_output_tail(self) -> str:
        """The last lines the launcher printed, for error messages, when known."""
        return ""

    def location(self) -> str:
        """The placement's ``where``: a human string saying where the kernel is.

        ``KIND · HOST`` (or the kind alone) by default; backends with more to say (a job,
        a node, the time left) override it, e.g. ``slurm · job 4242 on rkn2 (1:52 left)``.
        """
        host = self.placement.host
        return f"{self.kind} · {host}" if host else self.kind

    def location_suffix(self) -> str:
        """Where the kernel is, for messages: `` on HOST`` (or empty)."""
        return f" on {self.placement.host}" if self.placement.host else ""

    def timeout_message(self, timeout: float) -> str:
        """What a launch that ran out of time says; placements with more to tell override it."""
        tail = self.launcher_output_tail()
        return (
            f"Kernel {self.kernel_id}{self.location_suffix()} did not call back within "
            f"{timeout:.0f} s "
            f"(launch phase: {self.placement.phase}). Raise launch_timeout in the "
            "kernelspec's process_proxy.config or check the kernel's host."
            + (f"\nLauncher output:\n{tail}" if tail else "")
        )

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
                f"The launcher of kernel {self.kernel_id}{self.location_suffix()} exited with "
                f"code {code} before calling back. Check the kernelspec's argv and that the "
                "kernel's Python has ipykernel." + (f"\nLauncher output:\n{tail}" if tail else "")
            )
            raise LaunchError(msg)

    # ------------------------------------------------------------------ shared services

    @property
    def services(self) -> Services:
        """The server's shared services (from the kernel manager), else this kernel's own."""
        found = services_of(self.parent)
        if found is not None:
            return found
        if self._own_services is None:
            self._own_services = Services(self.log)
        return self._own_services

    def response_listener(self) -> ResponseListener:
        """The listener launchers call back to; one per server."""
        return self.services.get(
            RESPONSE_LISTENER, lambda: ResponseListener(parent=self.parent, log=self.log)
        )

    # ------------------------------------------------------------------ launch

    def format_command(self, cmd: list[str], values: dict[str, str]) -> list[str]:
        """Fill the launch-time placeholders ``{name}``; unknown names stay as they are."""

        def fill(match: re.Match) -> str:
            return values.get(match.group(1), match.group(0))

        return [_PLACEHOLDER.sub(fill, arg) for arg in cmd]

    def placeholder_values(self) -> dict[str, str]:
        """Values of the launch-time placeholders; subclasses add their own."""
        return {
            "kernel_id": str(self.kernel_id),
            "response_address": self.response_address,
            "public_key": "none",
            "port_range": self.port_range,
            "kernel_class_name": self.kernel_class_name,
            "launcher": self.launcher_location(),
            # gateway_provisioners' launcher makes its own CurveZMQ keys when asked to.
            "transport_encryption": "required" if self._curve_wanted else "disabled",
        }

    def launcher_location(self) -> str:
        """What ``{launcher}`` in argv becomes: the Python launcher's path on the kernel's host.

        Its sibling modules (:func:`~jupyter_remote_kernels.paths.launcher_files`) are beside it.
        """
        return str(launcher_files("python")[0])

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """Make the per-kernel secret, open the response address and format argv.

        Called by ``KernelManager.pre_start_kernel`` before every launch, restarts included.
        With ``jrk_reattach`` (a record from an earlier server, passed by
        ``RemoteMappingKernelManager.reattach_kernels``) the next launch reconnects instead.
        """
        reattach = kwargs.pop("jrk_reattach", None)
        self.take_pool_flag(kwargs)
        if reattach is not None and not self._reattach_used:
            self._reattach_used = True
            self._reattach = reattach
            await self.load_provisioner_info(reattach["provisioner_info"])
            self.parent.load_connection_info(reattach["connection_info"])
            return await super().pre_launch(cmd=[], **kwargs)
        self._reattach = None
        what = self.kernel_spec.display_name if self.kernel_spec else str(self.kernel_id)
        self.check_user((kwargs.get("env") or {}).get("KERNEL_USERNAME"), what)
        self._auth_key = protocol.new_auth_key()
        self._listener = self.response_listener()
        self.response_address = await self._listener.address_for(await self.response_ip())
        self.placement.set_phase("starting")
        km = self.parent
        self._curve_wanted = prepare_curve_keys(km, self.kernel_spec.metadata or {})
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

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        """Start the launcher and wait for its authenticated callback.

        Called by ``KernelManager.start_kernel`` (and on restart). On any failure or
        timeout the launcher and its kernel are stopped before the error is raised.
        """
        if self._reattach is not None:
            return await self._reconnect(self._reattach)
        env = kwargs.get("env") or {}
        timeout = self.launch_timeout_for(env)
        assert self._listener is not None
        assert self._auth_key is not None
        waiter = self._listener.expect(str(self.kernel_id), self._auth_key)
        ip = "0.0.0.0" if self.bind_all_interfaces else self.kernel_bind_ip()  # noqa: S104
        bundle = make_bundle(
            self.parent,
            str(self.kernel_id),
            self._auth_key,
            ip,
            pool=self.pool_kernel,
            kernel_argv=self.kernel_argv,
        )
        try:
            info = await asyncio.wait_for(
                self._start_and_wait(cmd, env, kwargs.get("cwd"), bundle, waiter), timeout
            )
        except asyncio.TimeoutError:
            error: Exception = LaunchTimeout(self.timeout_message(timeout))
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
                    where = self.location_suffix()
                    msg = f"Kernel {self.kernel_id} failed to start{where}: {exc}"
                    raise LaunchError(msg) from exc
            await self.follow_launch()

    def _ready(self, info: dict[str, Any]) -> KernelConnectionInfo:
        km = self.parent
        ip = self.connect_ip(info)
        assert self._auth_key is not None
        self.link = LauncherLink.from_callback(
            info, ip, str(self.kernel_id), self._auth_key, self.comm_timeout, self.log
        )
        if self.link.legacy:
            # Enterprise Gateway's launcher: its own signing key, an unauthenticated port.
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
            **curve_fields(km),
        }
        return self.connection_info

    async def _abort_launch(self, reason: str) -> None:
        self.placement.set_phase("failed", error=reason)
        if self._listener is not None:
            self._listener.forget(str(self.kernel_id))
        await self.force_stop()
        await self.release(restart=False)
        self.link = None

    async def post_launch(self, **kwargs: Any) -> None:
        """Record the running kernel so a restarted server can reattach to it.

        Called by ``KernelManager.post_start_kernel`` after every launch, restarts included.
        """
        await super().post_launch(**kwargs)
        if self.services.on_launch is not None:
            await self.services.on_launch(self.parent)

    # ------------------------------------------------------------------ lifecycle

    async def cleanup(self, restart: bool = False) -> None:
        """Free everything the kernel held; called after it stopped (and before a restart)."""
        if self._listener is not None:
            self._listener.forget(str(self.kernel_id))
        if self.link is not None and await self.launcher_exit_code() is None:
            # The kernel is gone by now unless something went wrong: make sure.
            await self.link.make_sure_stopped()
        await self.release(restart)
        self.link = None
        self.placement.set_phase("starting" if restart else "dead")
        if not restart:
            if self.services.on_gone is not None:
                await self.services.on_gone(str(self.kernel_id))
            own, self._own_services = self._own_services, None
            if own is not None:
                await own.close()
                self._listener = None

    def _provisioner_name(self) -> str:
        spec = self.kernel_spec
        metadata = getattr(spec, "metadata", None) or {}
        name = (metadata.get("kernel_provisioner") or {}).get("provisioner_name")
        return str(name or type(self).__name__)
