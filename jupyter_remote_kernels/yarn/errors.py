"""The YARN backend's errors (part of the package's :mod:`~jupyter_remote_kernels.errors`
hierarchy)."""

from __future__ import annotations

from ..errors import RemoteKernelError

__all__ = ["YarnError"]


class YarnError(RemoteKernelError):
    """The YARN ResourceManager refused a request or could not be reached."""

    http_status = 502
