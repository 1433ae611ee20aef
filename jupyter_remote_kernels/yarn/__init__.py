"""Kernels as YARN applications (Spark cluster mode), followed through the RM's REST API.

Public surface: :class:`YarnProvisioner` (entry point ``jrk-yarn-provisioner``) and
:data:`BACKEND` (``install yarn``, ``check NAME``).
"""

from ..backends import Backend
from .check import run_check
from .install import install_fields
from .provisioner import YarnProvisioner

__all__ = ["BACKEND", "YarnProvisioner"]

BACKEND = Backend(
    name="yarn",
    provisioner_name="jrk-yarn-provisioner",
    template="yarn_spark",
    install_fields=install_fields,
    check=run_check,
)
