"""Kernels on this machine, through the same launcher as remote ones (no cluster needed)."""

from ..backends import Backend
from .provisioner import LocalLauncherProvisioner

__all__ = ["BACKEND", "LocalLauncherProvisioner"]

BACKEND = Backend(name="local", provisioner_name="jrk-local-provisioner", template="local")
