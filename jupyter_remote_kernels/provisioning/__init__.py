"""What every launcher-based provisioner shares; the backends (``local``, ``ssh``, ``yarn``)
subclass :class:`LauncherProvisionerBase`."""

from .authorization import AuthorizationMixin
from .base import LauncherProvisionerBase
from .settings import LauncherSettings, positive_seconds

__all__ = ["AuthorizationMixin", "LauncherProvisionerBase", "LauncherSettings", "positive_seconds"]
