"""Kernels as pods on Kubernetes, followed with one watch per namespace.

Public surface: :class:`K8sProvisioner` (entry point ``jrk-k8s-provisioner``) and
:data:`BACKEND` (``process_proxy.class_name`` ``k8s`` or ``kubernetes``; ``install k8s``,
``check NAME``).
"""

from ..backends import Backend
from .check import run_check
from .install import K8sInstallOptions
from .provisioner import K8sProvisioner
from .translate import eg_config, migrated_argv

__all__ = ["BACKEND", "K8sProvisioner"]

BACKEND = Backend(
    name="k8s",
    provisioner_name="jrk-k8s-provisioner",
    template="k8s",
    # "kubernetes" is what the kernelspecs write; EG's class means it too.
    eg_class_names=(
        "kubernetes",
        "enterprise_gateway.services.processproxies.k8s.KubernetesProcessProxy",
    ),
    gp_provisioner_names=("kubernetes-provisioner",),
    install_options=K8sInstallOptions,
    check=run_check,
    eg_config=eg_config,
    eg_argv=migrated_argv,
)
