"""Kernels as Slurm batch jobs, placed by the scheduler and followed with ``squeue``.

Public surface: :class:`SlurmProvisioner` (entry point ``jrk-slurm-provisioner``) and
:data:`BACKEND` (``install slurm``, ``check NAME``).
"""

from ..backends import Backend
from .check import run_check
from .install import SlurmInstallOptions
from .provisioner import SlurmProvisioner

__all__ = ["BACKEND", "SlurmProvisioner"]

BACKEND = Backend(
    name="slurm",
    install_options=SlurmInstallOptions,
    check=run_check,
)
