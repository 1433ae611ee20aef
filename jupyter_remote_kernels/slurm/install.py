"""``jupyter remote-kernels install slurm``: the fields of the Slurm template.

    jupyter remote-kernels install slurm --partition P [--time 2:00:00] [--gres gpu:1]
        [--slurm-conf FILE] [--login-host [user@]host[:port]] [--python P]

Every value is checked before anything is written.
"""

from __future__ import annotations

import re
from typing import Any

from traitlets import Unicode

from ..backends import BackendError, InstallOptions
from ..ssh import parse_host
from .resources import parse_time

__all__ = ["SlurmInstallOptions"]

_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")
_GRES = re.compile(r"^[A-Za-z0-9_.:-]+(,[A-Za-z0-9_.:-]+)*$")


class SlurmInstallOptions(InstallOptions):
    """``install slurm`` options: the partition, limits, the cluster and its login node."""

    partition = Unicode("", config=True, help="slurm: the partition kernels run in.")
    time = Unicode("", config=True, help="slurm: the jobs' time limit (e.g. 2:00:00).")
    gres = Unicode("", config=True, help="slurm: generic resources, e.g. gpu:1.")
    slurm_conf = Unicode("", config=True, help="slurm: slurm.conf for the Slurm commands.")
    login_host = Unicode("", config=True, help="slurm: submit on this login node over SSH.")

    def fields(self, app: Any) -> dict[str, Any]:
        """The ``@@FIELD@@`` values of the Slurm template; ``app``: the common options."""
        partition = self.partition.strip()
        if not partition or not _NAME.match(partition):
            msg = "install slurm needs --partition, the Slurm partition the kernels run in"
            raise BackendError(msg)
        if self.time:
            try:
                parse_time(self.time)
            except ValueError as exc:
                msg = f"--time: {exc}"
                raise BackendError(msg) from None
        if self.gres and not _GRES.match(self.gres):
            msg = f"--gres takes Slurm's syntax (gpu:1, gpu:a100:2), not {self.gres!r}"
            raise BackendError(msg)
        if self.login_host:
            try:
                parse_host(self.login_host)
            except ValueError as exc:
                msg = f"--login-host: {exc}"
                raise BackendError(msg) from None
        return {
            "LOGIN_HOST": self.login_host.strip(),
            "PARTITION": partition,
            "TIME": self.time.strip(),
            "GRES": self.gres.strip(),
            "SLURM_CONF": self.slurm_conf.strip(),
            "PYTHON": app.python,
            "DISPLAY_NAME": app.display_name or f"{app.kernel_label} (Slurm, {partition})",
        }
