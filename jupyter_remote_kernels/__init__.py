"""Run Jupyter kernels where the kernelspec says, through a launcher beside the kernel.

Where is a backend's business: this machine, SSH hosts, a YARN or Slurm cluster, or any
other backend installed as a plugin (the entry point group ``jupyter_remote_kernels.backends``;
see ``docs/architecture.md``).
"""

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
    "__version__",
]


def _jupyter_server_extension_points():
    """Entry point Jupyter Server uses to find the extension app."""
    return [{"module": "jupyter_remote_kernels", "app": RemoteKernelsApp}]


def _jupyter_labextension_paths():
    """Where the prebuilt JupyterLab extension lives inside the installed package."""
    return [{"src": "labextension", "dest": "jupyter-remote-kernels"}]
