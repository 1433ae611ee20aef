"""Helpers of the Kubernetes resources / CLI / compat tests: kernelspecs for the test cluster,
a real Jupyter Server, and what the API shows of this package's objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from testing.k8scluster import PYTHON_IMAGE

from ..k8s_helpers import nothing_left as kernels_left
from ..k8s_helpers import start_kernel, wait_for

__all__ = [
    "BASE_CONFIG",
    "NOTHING",
    "k8s_spec",
    "launcher_argv",
    "namespaces",
    "nothing_left",
    "ours",
    "start_kernel",
    "wait_for",
    "write_spec",
]

#: What :func:`nothing_left` returns when nothing is left.
NOTHING = {"pods": [], "secrets": [], "namespaces": [], "processes": []}
MANAGED = "app.kubernetes.io%2Fmanaged-by%3Djupyter-remote-kernels"

#: What every test kernelspec gets: the bed's image (never pulled), a short grace.
BASE_CONFIG = {"k8s_image": PYTHON_IMAGE, "k8s_image_pull_policy": "Never", "launch_timeout": 90}


def launcher_argv(python: str = "python3") -> list[str]:
    return [python, "{launcher}", "--kernel-id", "{kernel_id}", "--response-address",
            "{response_address}", "--port-range", "{port_range}", "--kernel-class-name",
            "{kernel_class_name}", "--ip", "{pod_ip}"]  # fmt: skip


def write_spec(base: Path, name: str, spec: dict[str, Any]) -> Path:
    folder = base / "data" / "kernels" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(spec, indent=2))
    return folder


def k8s_spec(cluster, **config: Any) -> dict[str, Any]:
    return {
        "argv": launcher_argv(),
        "display_name": "Python (k8s test)",
        "language": "python",
        "metadata": {"process_proxy": {"class_name": "k8s", "config": {
            **BASE_CONFIG, "k8s_kubeconfig": str(cluster.kubeconfig), **config}}},
    }  # fmt: skip


def ours(cluster, kind: str, namespace: str = "") -> list[dict[str, Any]]:
    """This package's pods / secrets (of a namespace, else of all), as the API lists them."""
    where = f"/namespaces/{namespace}" if namespace else ""
    return cluster.api("GET", f"/api/v1{where}/{kind}?labelSelector={MANAGED}")["items"]


def namespaces(cluster) -> list[str]:
    return [n["metadata"]["name"] for n in cluster.api("GET", "/api/v1/namespaces")["items"]]


def nothing_left(cluster, kernel_ids, timeout: float = 60) -> dict[str, list]:
    """Wait until the API shows no pod or Secret of ``kernel_ids`` (and none of this package
    at all), no namespace it made, and no process on the node mentions the kernels; what is
    still there then (empty lists: nothing)."""

    def left() -> dict[str, list]:
        made = cluster.api(
            "GET", "/api/v1/namespaces?labelSelector=jupyter-remote-kernels%2Fcreated"
        )["items"]
        return {
            "pods": [p["metadata"]["name"] for p in ours(cluster, "pods")],
            "secrets": [s["metadata"]["name"] for s in ours(cluster, "secrets")],
            "namespaces": [n["metadata"]["name"] for n in made],
        }

    wait_for(lambda: not any(left().values()), timeout)
    return {**left(), **kernels_left(cluster, kernel_ids, timeout=1)}
