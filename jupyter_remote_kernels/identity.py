"""Who a kernel runs as: from the server's identity provider, never from the request.

A start request may carry ``KERNEL_USERNAME`` (Enterprise Gateway's convention), but a
client could claim anyone. The request handlers put the requesting user's effective
kernel user in :data:`EFFECTIVE_USER` (a context variable, so it follows the start into
the manager and the provisioner); the manager sets ``KERNEL_USERNAME`` from it, and a
request claiming another user is refused.

One exception: a *trusted gateway* (``RemoteMappingKernelManager.trusted_gateway_users``),
such as JupyterHub's per-user servers reaching this server with ``--gateway-url`` under one
shared token, starts kernels on behalf of its users and names each one in
``KERNEL_USERNAME``. The named user then stands where the requester would: it is mapped
through ``kernel_user_mapping`` and checked against ``authorized_users`` /
``unauthorized_users``, and it gets the warm pools of its mapped user.
"""

from __future__ import annotations

import inspect
from contextvars import ContextVar
from typing import Any, Optional

from jupyter_server.auth.identity import PasswordIdentityProvider, User
from tornado import web
from traitlets import Unicode

__all__ = ["EFFECTIVE_USER", "IdentityMixin", "NamedTokenIdentityProvider"]

#: The user the kernel being started runs as, set per request by :class:`IdentityMixin`.
EFFECTIVE_USER: ContextVar[Optional[str]] = ContextVar("jrk_effective_user", default=None)


class IdentityMixin:
    """For kernel-starting handlers: resolve the requesting user's effective kernel user."""

    async def prepare(self) -> None:
        result = super().prepare()  # type:ignore[misc]
        if inspect.isawaitable(result):
            await result
        manager: Any = self.kernel_manager  # type:ignore[attr-defined]
        user = self.current_user  # type:ignore[attr-defined]
        if user is not None and hasattr(manager, "effective_kernel_user"):
            EFFECTIVE_USER.set(manager.effective_kernel_user(user.username))

    def check_claimed_user(self, client_env: dict[str, str]) -> None:
        """Take a trusted gateway's KERNEL_USERNAME; 403 for anyone else's claiming another.

        A request of a trusted gateway user that names ``KERNEL_USERNAME`` starts the kernel
        for that user, as if it had been authenticated as them: :data:`EFFECTIVE_USER`
        becomes the named user's mapped kernel user.
        """
        claimed = client_env.get("KERNEL_USERNAME")
        if claimed is None:
            return
        manager: Any = self.kernel_manager  # type:ignore[attr-defined]
        user = self.current_user  # type:ignore[attr-defined]
        requester = getattr(user, "username", None)
        trusted = getattr(manager, "trusted_gateway_users", None) or []
        if requester is not None and requester in trusted:
            if not claimed.strip():
                msg = (
                    "KERNEL_USERNAME is empty: a gateway must name the user it starts the "
                    "kernel for, or leave KERNEL_USERNAME out (the kernel then runs as the "
                    "gateway's own kernel user)."
                )
                raise web.HTTPError(400, msg, reason="Bad Request")
            effective = manager.effective_kernel_user(claimed)
            self.log.info(  # type:ignore[attr-defined]
                "Trusted gateway %r starts a kernel for user %r (runs as %r)",
                requester,
                claimed,
                effective,
            )
            EFFECTIVE_USER.set(effective)
            return
        effective = EFFECTIVE_USER.get()
        if effective is not None and claimed != effective:
            msg = (
                f"KERNEL_USERNAME {claimed!r} is not you: your kernels run as {effective!r}. "
                "Leave KERNEL_USERNAME out of the request, or ask an administrator to map "
                "your user (RemoteMappingKernelManager.kernel_user_mapping), or, for a "
                "gateway serving many users, to trust it "
                "(RemoteMappingKernelManager.trusted_gateway_users)."
            )
            raise web.HTTPError(403, msg, reason="Forbidden")


class NamedTokenIdentityProvider(PasswordIdentityProvider):
    """Jupyter Server's default identity (token or password), the holder given one name.

    Jupyter Server names whoever presents its token (or logs in with it or the password,
    or, with authentication disabled, anyone) a new random user. A gateway's clients all hold its
    one token; with this provider they are one named user, which
    ``RemoteMappingKernelManager.trusted_gateway_users`` can list::

        c.ServerApp.identity_provider_class = (
            "jupyter_remote_kernels.identity.NamedTokenIdentityProvider")
        c.NamedTokenIdentityProvider.token_username = "hub-gateway"
        c.RemoteMappingKernelManager.trusted_gateway_users = ["hub-gateway"]
    """

    token_username = Unicode(
        "gateway",
        config=True,
        help="The Jupyter user name of whoever holds this server's token (with "
        "authentication disabled: of every client).",
    )

    def generate_anonymous_user(self, handler: web.RequestHandler) -> User:
        name = self.token_username
        return User(username=name, name=name, display_name=name)
