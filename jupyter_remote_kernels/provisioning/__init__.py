"""What every launcher-based provisioner shares; the backends subclass
:class:`LauncherProvisionerBase`, or :class:`ClusterJobProvisioner` when the launcher runs as
a cluster's job."""

from .authorization import AuthorizationMixin
from .base import LauncherProvisionerBase
from .cluster import ClusterJobProvisioner
from .cluster_settings import ClusterSettings, EnvBundleSettings
from .settings import LauncherSettings, positive_seconds

__all__ = [
    "AuthorizationMixin",
    "ClusterJobProvisioner",
    "ClusterSettings",
    "EnvBundleSettings",
    "LauncherProvisionerBase",
    "LauncherSettings",
    "positive_seconds",
]
