"""``jupyter remote-kernels install ssh``: the fields of the ssh template."""

from __future__ import annotations

from typing import Any

from ..backends import BackendError
from .pool import parse_host

__all__ = ["install_fields"]


def install_fields(app: Any) -> dict[str, Any]:
    """The ``@@FIELD@@`` values of the ssh template, from the install command's options."""
    hosts = [h.strip() for h in app.hosts.split(",") if h.strip()]
    if not hosts:
        msg = "install ssh needs --hosts, e.g. --hosts node1,node2"
        raise BackendError(msg)
    for host in hosts:
        try:
            parse_host(host)
        except ValueError as exc:
            raise BackendError(str(exc)) from None
    return {"REMOTE_HOSTS": hosts, "REMOTE_USER": app.remote_user, "PYTHON": app.python}
