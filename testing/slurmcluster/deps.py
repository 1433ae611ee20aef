"""What the real Slurm test cluster needs (Debian's ``slurmctld``, ``slurmd``,
``slurm-client`` and ``munge``, root, network namespaces) and the check of all of it
(:func:`require`)."""

from __future__ import annotations

import os
import shutil

from testing.sshbed import SSHD, netns_available


class SlurmClusterError(RuntimeError):
    """Setting up, driving or tearing down the real Slurm test cluster failed."""


SBIN = {"slurmctld": "/usr/sbin/slurmctld", "slurmd": "/usr/sbin/slurmd",
        "munged": "/usr/sbin/munged"}
CLIENTS = ("sbatch", "squeue", "sinfo", "scontrol", "scancel")
PACKAGES = {"slurmctld": "slurmctld", "slurmd": "slurmd", "munged": "munge",
            "sbatch": "slurm-client", "squeue": "slurm-client", "sinfo": "slurm-client",
            "scontrol": "slurm-client", "scancel": "slurm-client"}
INSTALL = "apt-get install slurmctld slurmd slurm-client munge"


def binary(name: str) -> str:
    """Absolute path of a Slurm / munge program (daemons in /usr/sbin, commands on PATH)."""
    if name in SBIN:
        found = SBIN[name] if os.access(SBIN[name], os.X_OK) else shutil.which(name)
    else:
        found = shutil.which(name) or (f"/usr/bin/{name}"
                                       if os.access(f"/usr/bin/{name}", os.X_OK) else None)
    if not found:
        msg = (f"{name} is not installed: the real Slurm test cluster needs Debian's "
               f"{PACKAGES.get(name, name)} package ({INSTALL})")
        raise SlurmClusterError(msg)
    return found


def missing() -> list[str]:
    """What is missing for a cluster, each as "what: how to get it" (empty when ready)."""
    out = []
    for name in (*SBIN, *CLIENTS):
        try:
            binary(name)
        except SlurmClusterError:
            out.append(f"{name}: apt-get install {PACKAGES[name]}")
    if not (shutil.which("sshd") or os.access(SSHD, os.X_OK)):
        out.append("sshd: apt-get install openssh-server")
    if os.geteuid() != 0:
        out.append("root: the nodes' slurmd run in network namespaces (run as root)")
    elif not netns_available():
        out.append("network namespaces: a working `ip netns` (apt-get install iproute2)")
    return out


def require() -> None:
    """Raise :class:`SlurmClusterError` naming everything missing and how to install it."""
    gaps = missing()
    if gaps:
        msg = ("the real Slurm test cluster cannot start here; missing: " + "; ".join(gaps)
               + f" (Debian: {INSTALL} openssh-server iproute2, as root)")
        raise SlurmClusterError(msg)
