"""The Kubernetes backend's errors (part of the package's :mod:`~jupyter_remote_kernels.errors`
hierarchy)."""

from __future__ import annotations

from ..errors import LaunchError, RemoteKernelError

__all__ = ["K8sError", "K8sImageError"]


class K8sError(RemoteKernelError):
    """The Kubernetes API refused a request, failed or did not answer in time."""

    http_status = 502

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        #: The API's HTTP status (0: no answer).
        self.status = status


class K8sImageError(LaunchError):
    """The kernel's image cannot be pulled or is not on the node (raised at once, not at the
    launch timeout)."""

    http_status = 500
