"""Run Jupyter kernels where the kernelspec says: this machine, SSH hosts, or a YARN cluster."""

from ._version import __version__
from .errors import (
    CallbackRejected,
    CommPortError,
    KernelspecError,
    LaunchError,
    LaunchTimeout,
    NotAuthorized,
    PlacementError,
    RemoteKernelError,
    YarnError,
)
from .extension import RemoteKernelsApp
from .manager import RemoteKernelManager, RemoteMappingKernelManager
from .placement import Placement

__all__ = [
    "CallbackRejected",
    "CommPortError",
    "KernelspecError",
    "LaunchError",
    "LaunchTimeout",
    "NotAuthorized",
    "Placement",
    "PlacementError",
    "RemoteKernelError",
    "RemoteKernelManager",
    "RemoteKernelsApp",
    "RemoteMappingKernelManager",
    "YarnError",
    "__version__",
]


def _jupyter_server_extension_points():
    """Entry point Jupyter Server uses to find the extension app."""
    return [{"module": "jupyter_remote_kernels", "app": RemoteKernelsApp}]


def _jupyter_labextension_paths():
    """Where the prebuilt JupyterLab extension lives inside the installed package."""
    return [{"src": "labextension", "dest": "jupyter-remote-kernels"}]
