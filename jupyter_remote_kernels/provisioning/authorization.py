"""Who may start a kernelspec's kernels: Enterprise Gateway's user lists, as config."""

from __future__ import annotations

from typing import Optional

from traitlets import List, Unicode
from traitlets.config import Configurable

from ..errors import NotAuthorized

__all__ = ["AuthorizationMixin", "check_user"]


def check_user(
    user: Optional[str], what: str, authorized: list[str], unauthorized: list[str]
) -> None:
    """Raise :class:`NotAuthorized` unless ``user`` may start ``what`` kernels."""
    if user is not None and user in unauthorized:
        msg = f"User {user!r} may not start {what!r} kernels (unauthorized_users)."
        raise NotAuthorized(msg)
    if authorized and user not in authorized:
        msg = (
            f"User {user!r} is not among the users allowed to start {what!r} kernels "
            "(authorized_users); ask an administrator for access."
        )
        raise NotAuthorized(msg)


class AuthorizationMixin(Configurable):
    """``authorized_users`` / ``unauthorized_users`` of a kernelspec, checked at each start."""

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

    def check_user(self, user: Optional[str], what: str) -> None:
        """Raise :class:`NotAuthorized` unless ``user`` may start ``what`` kernels."""
        check_user(user, what, self.authorized_users, self.unauthorized_users)
