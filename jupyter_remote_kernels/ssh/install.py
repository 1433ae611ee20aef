"""``jupyter remote-kernels install ssh``: the ssh template's options and fields.

    jupyter remote-kernels install ssh --hosts node1,node2 [--user-name U] [--python P]

Also the translation of Enterprise Gateway's / gateway_provisioners' spellings of the ssh
provisioner's ``config`` keys (:func:`eg_config`).
"""

from __future__ import annotations

from typing import Any

from traitlets import Unicode

from ..backends import BackendError, InstallOptions
from .pool import parse_host

__all__ = ["SSHInstallOptions", "eg_config"]

#: EG's and GP's values of ``load_balancing_algorithm`` that are spelled differently here.
_BALANCING = {"least-connection": "least-loaded"}


class SSHInstallOptions(InstallOptions):
    """``install ssh`` options: the hosts and the user on them."""

    hosts = Unicode("", config=True, help="ssh: comma-separated remote hosts ([user@]host[:port]).")
    user_name = Unicode("", config=True, help="ssh: user name on the hosts (default: yours).")

    def fields(self, app: Any) -> dict[str, Any]:
        """The ``@@FIELD@@`` values of the ssh template."""
        hosts = [h.strip() for h in self.hosts.split(",") if h.strip()]
        if not hosts:
            msg = "install ssh needs --hosts, e.g. --hosts node1,node2"
            raise BackendError(msg)
        for host in hosts:
            try:
                parse_host(host)
            except ValueError as exc:
                raise BackendError(str(exc)) from None
        return {"REMOTE_HOSTS": hosts, "REMOTE_USER": self.user_name, "PYTHON": app.python}


def eg_config(config: dict[str, Any]) -> dict[str, Any]:
    """EG's and GP's ssh keys as ours (order kept): host lists, the balancing algorithm."""
    result = {}
    for key, value in config.items():
        if key == "remote_hosts" and isinstance(value, str):
            result[key] = [host.strip() for host in value.split(",") if host.strip()]
        elif key == "load_balancing_algorithm":
            known = isinstance(value, str) and value in _BALANCING
            result["load_balancing"] = _BALANCING[value] if known else value
        else:
            result[key] = value
    return result
