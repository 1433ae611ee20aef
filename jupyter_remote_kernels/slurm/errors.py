"""The Slurm backend's errors (part of the package's :mod:`~jupyter_remote_kernels.errors`
hierarchy)."""

from __future__ import annotations

from ..errors import RemoteKernelError

__all__ = ["SlurmError"]


class SlurmError(RemoteKernelError):
    """A Slurm command (``sbatch``, ``squeue``, ``scancel``) refused a request or failed."""

    http_status = 502
