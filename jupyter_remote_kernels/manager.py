"""Kernel managers that place kernels where their kernelspec says.

``RemoteMappingKernelManager`` is what the server extension swaps in; it also works alone::

    jupyter server \\
        --ServerApp.kernel_manager_class=jupyter_remote_kernels.RemoteMappingKernelManager
"""

from __future__ import annotations

import asyncio
import getpass
import os
import socket
from collections.abc import Awaitable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from jupyter_client.kernelspec import KernelSpec, NoSuchKernel
from jupyter_server.services.kernels.kernelmanager import (
    AsyncMappingKernelManager,
    ServerKernelManager,
)
from tornado import web
from traitlets import Bool, Dict, Instance, List, Unicode, default

from .errors import RemoteKernelError
from .identity import EFFECTIVE_USER
from .kernelspecs import PLAIN_AUTHORIZATION, Installed, translate_kernelspec
from .launch.listener import SERVICE as RESPONSE_LISTENER
from .launch.listener import ResponseListener
from .persistence import ReattachingManagerMixin
from .placement import Placement
from .pools.manager import PoolingManagerMixin
from .provisioning.authorization import check_user
from .services import Services

__all__ = ["RemoteKernelManager", "RemoteMappingKernelManager"]


async def _started() -> None:
    """The start of a kernel that runs already (handed out from a warm pool)."""


class RemoteKernelManager(ServerKernelManager):
    """Manages one kernel; reads its kernelspec's placement stanza before each start."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._translated_spec: Optional[KernelSpec] = None
        #: Set by the warm pools when a start request took this running kernel.
        self.taken_from_pool = False
        # Jupyter Server lists a kernel for one loop turn before it sets last_activity, and
        # its kernel list then fails with a TraitError (HTTP 500 under concurrent starts).
        self.last_activity = datetime.now(timezone.utc)

    @property
    def kernel_spec(self) -> Optional[KernelSpec]:
        """The kernelspec with its ``process_proxy`` stanza turned into a provisioner stanza."""
        if self._translated_spec is None:
            spec = super().kernel_spec
            if spec is None:
                return None
            defer = bool(getattr(self.parent, "defer_to_gateway_provisioners", False))
            self._translated_spec = translate_kernelspec(self.kernel_name, spec, defer)
        return self._translated_spec

    def use_kernel_spec(self, spec: KernelSpec) -> None:
        """Use this already translated kernelspec (read off the event loop by the caller)."""
        self._translated_spec = spec

    def start_kernel(self, **kwargs: Any) -> Awaitable[None]:
        """Start the kernel; a kernel handed out from a warm pool runs already.

        Called by the mapping manager's start (and by a warm pool for its own kernels).
        Returns Jupyter Server's own start (not a coroutine of this method's that awaits it).
        """
        if self.taken_from_pool:
            self.taken_from_pool = False
            return _started()
        return super().start_kernel(**kwargs)

    @property
    def services(self) -> Optional[Services]:
        """The server's shared services (the mapping manager's), given to the provisioner.

        None for a kernel manager used alone: its provisioner then keeps services of its
        own for its kernel and closes them when the kernel is gone.
        """
        parent = self.parent
        return parent.services if isinstance(parent, RemoteMappingKernelManager) else None

    @property
    def placement(self) -> Placement:
        """Where this kernel runs; provisioners of this package keep it up to date."""
        provisioner = self.provisioner
        placement = getattr(provisioner, "placement", None)
        if isinstance(placement, Placement):
            return placement
        ready = self.ready.done() and not self.ready.cancelled() and not self.ready.exception()
        return Placement(
            provisioner=type(provisioner).__name__ if provisioner else "none",
            kind="plain",
            host=socket.gethostname(),
            ip=self.ip,
            pid=getattr(provisioner, "pid", None),
            phase="ready" if ready else "starting",
        )


class RemoteMappingKernelManager(
    ReattachingManagerMixin, PoolingManagerMixin, AsyncMappingKernelManager
):
    """The server's kernel manager: adds placement to kernel models and clear launch errors.

    Owns the server's :class:`~.services.Services`: the one :class:`ResponseListener`
    launchers call back to and what the backends share; :meth:`shutdown_all` closes them.
    """

    services = Instance(Services)
    kernel_user_mapping = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        config=True,
        help="Jupyter user name (from the server's identity provider) -> the user that "
        "user's kernels run as, given to provisioners as KERNEL_USERNAME (the login on the "
        "kernel's host, the user a cluster runs its job as). Users not listed run as the "
        "server's own OS user. A start request claiming another KERNEL_USERNAME is refused "
        "with HTTP 403 (unless it comes from a trusted_gateway_users user).",
    )

    trusted_gateway_users = List(
        Unicode(),
        config=True,
        help="Jupyter user names (from the server's identity provider) whose start requests "
        "may name the user a kernel is for in KERNEL_USERNAME: gateways serving many users, "
        "e.g. JupyterHub's per-user servers started with --gateway-url pointing here under "
        "one shared token (see NamedTokenIdentityProvider to give the token's holder a name). "
        "The named user is taken as if authenticated: mapped through kernel_user_mapping, "
        "checked against authorized_users / unauthorized_users, served by its own warm pools. "
        "Whoever holds such an identity can start kernels as any user: list only the "
        "gateway's own identity. Everyone else gets HTTP 403 for naming another user.",
    )

    defer_to_gateway_provisioners = Bool(
        False,
        config=True,
        help="Leave kernelspecs of gateway_provisioners (a provisioner_name a backend lists "
        "among its gateway_provisioners names) to gateway_provisioners when it is "
        "installed. False (and whenever it is not installed): that backend's provisioner "
        "places them, with their config translated.",
    )

    def effective_kernel_user(self, identity_username: str) -> str:
        """The user kernels started by ``identity_username`` run as."""
        return self.kernel_user_mapping.get(identity_username) or getpass.getuser()

    @default("services")
    def _default_services(self) -> Services:
        services = Services(self.log)
        services.on_launch = self._on_launch
        services.on_gone = self.forget_kernel
        return services

    @property
    def response_listener(self) -> ResponseListener:
        """The listener every launcher of this server calls back to."""
        return self.services.get(
            RESPONSE_LISTENER, lambda: ResponseListener(parent=self, log=self.log)
        )

    @default("kernel_manager_class")
    def _default_kernel_manager_class(self) -> str:
        return "jupyter_remote_kernels.manager.RemoteKernelManager"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._launching: dict[str, Any] = {}
        # The latest checked kernelspec of each name, read in a thread by start_kernel.
        self._checked_specs: dict[str, KernelSpec] = {}
        self._installed: Optional[Installed] = None  # read at the first start
        # The ports the server's activity watch of each kernel listens to.
        self._watched_ports: dict[str, list[int]] = {}

    async def _on_launch(self, km: Any) -> None:
        """Called by provisioners after every launch, restarts included."""
        self._follow_new_ports(km)
        await self.remember_kernel(km)

    def start_watching_activity(self, kernel_id: str) -> None:
        """Watch the kernel's iopub (Jupyter Server's execution_state, culling)."""
        super().start_watching_activity(kernel_id)
        self._watched_ports[kernel_id] = list(self.get_kernel(kernel_id).ports)

    def stop_watching_activity(self, kernel_id: str) -> None:
        super().stop_watching_activity(kernel_id)
        self._watched_ports.pop(kernel_id, None)

    def _follow_new_ports(self, km: Any) -> None:
        """Watch a kernel again that a restart moved to other ports.

        Jupyter Server does so itself only for a restart through its REST API. A restart
        by Jupyter's restarter (the kernel died) does not, and a remote kernel's new
        launch has new ports: the watch would stay on the dead ones, the kernel's
        execution_state stuck at "starting", and every new websocket would wait for it in
        vain. A kernel_info request then makes the new kernel report its state.

        The state starts over at "starting": the old process's last one is not the new
        one's. A kernel stopped while busy (a restart during a cell, or right after a
        reply, before its "idle") left "busy", which status messages answering untracked
        requests never change: the kernel would show busy for good, and Jupyter Server
        does not nudge a busy kernel's new websockets, whose iopub then misses what the
        kernel publishes before it is subscribed (a cell's output and "idle").
        """
        watched = self._watched_ports.get(km.kernel_id)
        if watched is None or watched == list(km.ports):
            return
        self.stop_watching_activity(km.kernel_id)
        km.execution_state = "starting"
        self.start_watching_activity(km.kernel_id)
        shell = km.connect_shell()
        km.session.send(shell, "kernel_info_request")
        asyncio.get_running_loop().call_later(10, shell.close)

    def pre_start_kernel(self, kernel_name: Optional[str], kwargs: Any) -> tuple[Any, str, str]:
        """Remember kernels while they launch, so ``/api/remote-kernels`` can show them.

        A start served from a warm pool gets the pool kernel's manager here.
        """
        handout = self.take_handout(kwargs.get("kernel_id"))
        if handout is not None:
            kernel_id = kwargs.pop("kernel_id")
            self._launching[kernel_id] = handout
            return handout, handout.kernel_name, kernel_id
        km, kernel_name, kernel_id = super().pre_start_kernel(kernel_name, kwargs)
        spec = self._checked_specs.get(kernel_name)
        if spec is not None and isinstance(km, RemoteKernelManager):
            km.use_kernel_spec(spec)
        self._launching[kernel_id] = km
        return km, kernel_name, kernel_id

    def load_kernel_spec(self, kernel_name: str) -> KernelSpec:
        """The kernelspec, translated and checked; blocks (disk): call it in a thread."""
        try:
            spec = self.kernel_spec_manager.get_kernel_spec(kernel_name)
        except NoSuchKernel:
            # jupyter_client hides a kernelspec whose provisioner is not installed; find it
            # to say so, instead of "no such kernel".
            for folder in self.kernel_spec_manager.kernel_dirs:
                resource_dir = Path(folder, kernel_name)
                if (resource_dir / "kernel.json").is_file():
                    spec = KernelSpec.from_resource_dir(str(resource_dir))
                    break
            else:
                raise web.HTTPError(404, f"No such kernelspec: {kernel_name}") from None
        if self._installed is None:
            self._installed = Installed()
        defer = self.defer_to_gateway_provisioners
        return translate_kernelspec(kernel_name, spec, defer, self._installed)

    async def start_kernel(self, *, kernel_id: Optional[str] = None, **kwargs: Any) -> str:
        """Start a kernel; a launch failure becomes an HTTP error with a readable message.

        The kernelspec is read and checked in a thread (file I/O stays off the event loop).
        """
        user = EFFECTIVE_USER.get()
        if user is not None and "jrk_reattach" not in kwargs:
            kwargs["env"] = {**(kwargs.get("env") or os.environ), "KERNEL_USERNAME": user}
        pooled = None
        try:
            if kernel_id is None or kernel_id not in self:
                kernel_name = kwargs.get("kernel_name") or self.default_kernel_name
                spec = await asyncio.to_thread(self.load_kernel_spec, kernel_name)
                self._checked_specs[kernel_name] = spec
                lists = (spec.metadata or {}).get(PLAIN_AUTHORIZATION)
                if lists and "jrk_reattach" not in kwargs:
                    # A plain local kernelspec's provisioner (jupyter_client's) checks no
                    # user lists: the same check as this package's provisioners, here.
                    user = (kwargs.get("env") or {}).get("KERNEL_USERNAME")
                    check_user(
                        user,
                        spec.display_name or kernel_name,
                        lists.get("authorized_users") or [],
                        lists.get("unauthorized_users") or [],
                    )
                if kernel_id is None and "jrk_reattach" not in kwargs:
                    env = kwargs.get("env") or dict(os.environ)
                    kernel_id = pooled = await self.serve_from_pool(
                        kernel_name, env, kwargs.get("path")
                    )
            started = await super().start_kernel(kernel_id=kernel_id, **kwargs)
            if pooled is not None:
                # Its record said "pool kernel": now it is this user's kernel.
                await self.remember_kernel(self.get_kernel(started))
            return started
        except RemoteKernelError as exc:
            await self._reap_failed_launches()
            raise web.HTTPError(exc.http_status, str(exc), reason=type(exc).__name__) from exc
        except BaseException:
            await self._reap_failed_launches()
            raise
        finally:
            for kid in [k for k, km in self._launching.items() if km.ready.done()]:
                self._launching.pop(kid, None)
            self.pools.wake()

    async def _reap_failed_launches(self) -> None:
        """Stop kernels whose start failed after their process was up.

        A provisioner cleans up after its own failures; this covers a failure later in the
        start (for example writing the connection file), which would otherwise orphan it.
        """
        for kernel_id, km in list(self._launching.items()):
            failed = km.ready.done() and (km.ready.cancelled() or km.ready.exception())
            if failed and kernel_id not in self and km.has_kernel:
                self.log.warning("Stopping kernel %s whose start failed", kernel_id)
                try:
                    await km.shutdown_kernel(now=True)
                except Exception:
                    self.log.exception("Could not stop kernel %s after its failed start", kernel_id)

    def launching_kernels(self) -> dict[str, Any]:
        """Kernel managers whose launch has not finished yet, by kernel id."""
        return {kid: km for kid, km in self._launching.items() if not km.ready.done()}

    def placement_model(self, kernel_id: str) -> dict[str, Any]:
        """The ``/api/remote-kernels`` model of one kernel, launching or running."""
        km = self.launching_kernels().get(kernel_id)
        if km is None and kernel_id in self.list_kernel_ids():
            km = self.get_kernel(kernel_id)
        if km is None:
            for model in self.pool_placement_models():
                if model["kernel_id"] == kernel_id:
                    return model
            raise web.HTTPError(404, f"Kernel does not exist: {kernel_id}")
        spec = km.kernel_spec
        return {
            "kernel_id": kernel_id,
            "kernel_name": km.kernel_name,
            "display_name": spec.display_name if spec else km.kernel_name,
            "placement": km.placement.to_dict(),
        }

    def list_placements(self) -> list[dict[str, Any]]:
        ids = list(dict.fromkeys([*self.list_kernel_ids(), *self.launching_kernels()]))
        models = []
        for kernel_id in ids:
            try:
                models.append(self.placement_model(kernel_id))
            except web.HTTPError:
                continue
        return models + self.pool_placement_models()

    def kernel_model(self, kernel_id: str) -> dict[str, Any]:
        """The ``/api/kernels`` model, with the kernel's ``placement``."""
        model = super().kernel_model(kernel_id)
        km = self.get_kernel(kernel_id)
        placement = getattr(km, "placement", None)
        if isinstance(placement, Placement):
            model["placement"] = placement.to_dict()
        return model

    async def abandon_launches(self, timeout: float = 15.0) -> None:
        """Stop every launch still in progress; called when the server stops.

        Jupyter Server shuts down only kernels that finished starting, so launches still
        waiting (a queued YARN application, a slow SSH host) are abandoned here, and the
        warm pools' kernels and launches stopped. Closing
        the response listener fails each one, and each provisioner then stops what it
        started (kills the application, the remote launcher) before its start fails.
        """
        await self.pools.close()
        launching = list(self.launching_kernels().values())
        listener = self.services.find(RESPONSE_LISTENER)
        if listener is not None:
            await listener.close()
        if launching:
            await asyncio.wait(
                [asyncio.ensure_future(km.ready) for km in launching], timeout=timeout
            )

    async def shutdown_all(self, now: bool = False) -> None:
        """Shut every kernel down, then close the shared services (server stop)."""
        await self.abandon_launches()
        # Not super().shutdown_all(): it also tries ids of starts that failed, which
        # jupyter_server answers with a 404 error, leaving the other kernels running.
        kernel_ids = self.list_kernel_ids()
        results = await asyncio.gather(
            *(self.shutdown_kernel(kernel_id, now=now) for kernel_id in kernel_ids),
            return_exceptions=True,
        )
        for kernel_id, result in zip(kernel_ids, results):
            if isinstance(result, BaseException):
                self.log.error("Shutting kernel %s down failed: %r", kernel_id, result)
        await self.services.close()
