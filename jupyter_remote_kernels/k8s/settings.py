"""The settings of Kubernetes kernels (each overridable per kernelspec in
``process_proxy.config``). Resources, limits and namespaces per user are in
:mod:`.resource_settings`."""

from __future__ import annotations

import re

from traitlets import Bool, Float, Int, Unicode, validate

from ..provisioning import positive_seconds
from .resource_settings import K8sResourceSettings

__all__ = ["PULL_POLICIES", "K8sSettings"]

PULL_POLICIES = ("IfNotPresent", "Always", "Never")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


class K8sSettings(K8sResourceSettings):
    """Which cluster and namespace, which image, how pods are named, deleted and followed."""

    # ------------------------------------------------------------------ the cluster
    k8s_kubeconfig = Unicode(
        "",
        config=True,
        help="kubeconfig file of the cluster (default: $KUBECONFIG, else ~/.kube/config). "
        "Ignored when k8s_in_cluster is True.",
    )
    k8s_context = Unicode(
        "", config=True, help="Context of the kubeconfig to use (default: its current context)."
    )
    k8s_in_cluster = Bool(
        False,
        config=True,
        help="The server runs in a pod of the cluster: use the pod's ServiceAccount (its "
        "token and CA under /var/run/secrets/kubernetes.io/serviceaccount) instead of a "
        "kubeconfig.",
    )
    k8s_api_timeout = Float(
        20.0, config=True, help="Seconds one request to the Kubernetes API may take."
    )
    k8s_watch_seconds = Int(
        240,
        config=True,
        help="Seconds the API server keeps one watch request open (timeoutSeconds); the "
        "watch is then resumed from its last resourceVersion. One watch per namespace serves "
        "every kernel of the server.",
    )
    k8s_server_id = Unicode(
        "",
        config=True,
        help="This server's identity in its pods' labels (jupyter-remote-kernels/server), so "
        "that a restarted server finds its pods and no other server's. Default: derived from "
        "the host name and the folder of the server's kernel records.",
    )

    # ------------------------------------------------------------------ the pod
    k8s_namespace = Unicode(
        "default", config=True, help="Namespace the kernel pods and their Secrets are made in."
    )
    k8s_image = Unicode(
        "",
        config=True,
        help="Container image of the kernel: any image with Python 3 and ipykernel (the "
        "launcher is delivered in a Secret volume, nothing needs to be baked in).",
    )
    k8s_python = Unicode(
        "python3",
        config=True,
        help="The image's Python (name on its PATH or absolute path). A kernelspec argv[0] of "
        "python or python3 (which Jupyter replaces with the server's own interpreter) runs as "
        "this in the pod.",
    )
    k8s_image_pull_policy = Unicode(
        "IfNotPresent",
        config=True,
        help="imagePullPolicy of the kernel container: IfNotPresent, Always or Never.",
    )
    k8s_pod_prefix = Unicode(
        "jrk",
        config=True,
        help="Prefix of the kernel pods' names (PREFIX-<kernel id start>-<random>); a DNS label.",
    )
    k8s_grace_period = Int(
        2,
        config=True,
        help="terminationGracePeriodSeconds of a kernel pod, and the grace its deletion gets "
        "(the launcher stops its kernel on SIGTERM; the kernel was asked to shut down first).",
    )
    k8s_mount_path = Unicode(
        "/var/run/jupyter-remote-kernels",
        config=True,
        help="Where the kernel container mounts its Secret (the launcher's files and the "
        "launch bundle, mode 0400).",
    )
    k8s_delete_timeout = Float(
        60.0,
        config=True,
        help="Seconds to wait for the API to confirm a kernel's pod and Secret are gone.",
    )
    k8s_node_timeout = Float(
        10.0,
        config=True,
        help="Seconds a ready kernel whose launcher stopped answering is still waited for, so "
        "that Kubernetes can say why (OOMKilled, Evicted, deleted) before it is reported dead.",
    )

    @validate(
        "k8s_api_timeout", "k8s_delete_timeout", "k8s_node_timeout"
    )
    def _validate_seconds(self, proposal: dict) -> float:
        return positive_seconds(proposal)

    @validate("k8s_watch_seconds", "k8s_grace_period")
    def _validate_whole_seconds(self, proposal: dict) -> int:
        name, value = proposal["trait"].name, proposal["value"]
        if value < (1 if name == "k8s_watch_seconds" else 0):
            msg = f"{name} must not be negative (whole seconds), got {value}"
            raise ValueError(msg)
        return value

    @validate("k8s_image_pull_policy")
    def _validate_pull_policy(self, proposal: dict) -> str:
        value = str(proposal["value"]).strip()
        if value not in PULL_POLICIES:
            msg = f"k8s_image_pull_policy must be one of {', '.join(PULL_POLICIES)}, not {value!r}"
            raise ValueError(msg)
        return value

    @validate("k8s_namespace", "k8s_pod_prefix")
    def _validate_dns_label(self, proposal: dict) -> str:
        value = str(proposal["value"]).strip()
        limit = 63 if proposal["trait"].name == "k8s_namespace" else 40
        if not _DNS_LABEL.match(value) or len(value) > limit:
            msg = (
                f"{proposal['trait'].name} must be a DNS label (lower-case letters, digits "
                f"and '-', at most {limit} characters), not {value!r}"
            )
            raise ValueError(msg)
        return value

    @validate("k8s_server_id")
    def _validate_server_id(self, proposal: dict) -> str:
        value = str(proposal["value"]).strip()
        if len(value) > 63 or not _LABEL_VALUE.match(value):
            msg = f"k8s_server_id must be a Kubernetes label value, not {value!r}"
            raise ValueError(msg)
        return value
