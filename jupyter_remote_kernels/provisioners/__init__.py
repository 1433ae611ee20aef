"""Kernel provisioners, registered under the ``jupyter_client.kernel_provisioners`` entry points."""

from .base import LauncherProvisionerBase
from .local import LocalLauncherProvisioner

__all__ = ["LauncherProvisionerBase", "LocalLauncherProvisioner"]
