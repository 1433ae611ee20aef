"""Kernels as YARN applications (Spark cluster mode), followed through the RM's REST API.

Public surface: :class:`YarnProvisioner` (entry point ``jrk-yarn-provisioner``) and
:data:`BACKEND` (``install yarn``, ``check NAME``).
"""

from ..backends import Backend
from .check import run_check
from .install import YarnInstallOptions, eg_config, eg_env
from .provisioner import YarnProvisioner

__all__ = ["BACKEND", "YarnProvisioner"]

BACKEND = Backend(
    name="yarn",
    template="yarn_spark",
    install_options=YarnInstallOptions,
    check=run_check,
    eg_class_names=("enterprise_gateway.services.processproxies.yarn.YarnClusterProcessProxy",),
    gp_provisioner_names=("yarn-provisioner",),
    eg_config=eg_config,
    eg_env=eg_env,
)
