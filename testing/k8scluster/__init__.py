"""A real single-node Kubernetes cluster (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, a kubelet with containerd + runc + CNI bridge) for tests and benchmarks. See
:mod:`testing.k8scluster.cluster`; ``python -m testing.k8scluster fetch|build|up|down|status``
runs it by hand."""

from .audit import AuditedRequest
from .build import build_binaries
from .cluster import K8sTestCluster
from .deps import K8S_VERSION, K8sClusterError, cache_dir, missing, require
from .images import IMAGES, PAUSE_IMAGE, PYTHON_IMAGE, R_IMAGE, build_images
from .procs import cleanup_stale, recorded_clusters

__all__ = [
    "IMAGES",
    "K8S_VERSION",
    "PAUSE_IMAGE",
    "PYTHON_IMAGE",
    "R_IMAGE",
    "AuditedRequest",
    "K8sClusterError",
    "K8sTestCluster",
    "build_binaries",
    "build_images",
    "cache_dir",
    "cleanup_stale",
    "missing",
    "recorded_clusters",
    "require",
]
