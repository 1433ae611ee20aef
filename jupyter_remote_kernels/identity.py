"""Who a kernel runs as: from the server's identity provider, never from the request.

A start request may carry ``KERNEL_USERNAME`` (Enterprise Gateway's convention), but a
client could claim anyone. The request handlers put the requesting user's effective
kernel user in :data:`EFFECTIVE_USER` (a context variable, so it follows the start into
the manager and the provisioner); the manager sets ``KERNEL_USERNAME`` from it, and a
request claiming another user is refused.
"""

from __future__ import annotations

import inspect
from contextvars import ContextVar
from typing import Any, Optional

from tornado import web

__all__ = ["EFFECTIVE_USER", "IdentityMixin"]

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
        """403 when the request's KERNEL_USERNAME is not the requester's effective user."""
        claimed = client_env.get("KERNEL_USERNAME")
        effective = EFFECTIVE_USER.get()
        if claimed is not None and effective is not None and claimed != effective:
            msg = (
                f"KERNEL_USERNAME {claimed!r} is not you: your kernels run as {effective!r}. "
                "Leave KERNEL_USERNAME out of the request, or ask an administrator to map "
                "your user (RemoteMappingKernelManager.kernel_user_mapping)."
            )
            raise web.HTTPError(403, msg, reason="Forbidden")
