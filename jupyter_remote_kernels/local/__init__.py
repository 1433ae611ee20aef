"""Kernels on this machine, through the same launcher as remote ones (no cluster needed)."""

from ..backends import Backend
from .provisioner import LocalLauncherProvisioner

__all__ = ["BACKEND", "LocalLauncherProvisioner"]

BACKEND = Backend(
    name="local",
    eg_class_names=("enterprise_gateway.services.processproxies.processproxy.LocalProcessProxy",),
    no_launcher_provisioner="local-provisioner",
    default_kernel_name="remote-python",
)
