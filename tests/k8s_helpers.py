"""Helpers of the Kubernetes backend tests: kernelspecs on the test cluster, what the API and
the node's process table show of a kernel.

What is left is asserted from the API (pods and Secrets with the kernel's label) and the
host's process table (the node's containers are processes of this machine), never from the
server's bookkeeping.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from testing.k8scluster import PYTHON_IMAGE
from testing.specs import pids_mentioning

from .kernels import wait_for
from .server_process import ServerProcess

__all__ = [
    "KERNEL_LABEL",
    "LAUNCH_TIMEOUT",
    "kernel_objects",
    "nothing_left",
    "placement",
    "record_of",
    "rows",
    "start_kernel",
    "wait_for",
    "write_k8s_spec",
]

TEMPLATE = Path(__file__).resolve().parents[1] / "kernelspecs" / "k8s" / "kernel.json"
KERNEL_LABEL = "jupyter-remote-kernels/kernel-id"
LAUNCH_TIMEOUT = 90.0


def write_k8s_spec(cluster, base: Path, name: str, **config: Any) -> Path:
    """The shipped ``k8s`` template, filled for the test cluster, in the server's path;
    ``config`` adds process_proxy.config values."""
    spec = json.loads(TEMPLATE.read_text())
    spec["display_name"] = f"Python 3 (k8s, {name})"
    spec["metadata"]["process_proxy"]["config"] = {
        "k8s_image": PYTHON_IMAGE,
        "k8s_namespace": "default",
        "k8s_image_pull_policy": "Never",
        "k8s_kubeconfig": str(cluster.kubeconfig),
        "launch_timeout": LAUNCH_TIMEOUT,
        **config,
    }
    folder = base / "data" / "kernels" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return folder


def start_kernel(server: ServerProcess, name: str, timeout: float = LAUNCH_TIMEOUT + 60,
                 **env: str):
    """``POST /api/kernels`` (the response, whatever its status)."""
    body = {"name": name, "env": env} if env else {"name": name}
    return server.request("POST", "/api/kernels", body, timeout=timeout)


def placement(server: ServerProcess, kernel_id: str) -> dict:
    return server.request("GET", f"/api/remote-kernels/{kernel_id}").json()["placement"]


def rows(server: ServerProcess) -> list[dict]:
    """``GET /api/remote-kernels`` (launching kernels included)."""
    found = server.request("GET", "/api/remote-kernels").json()
    return found if isinstance(found, list) else found.get("kernels", [])


def record_of(server: ServerProcess, kernel_id: str) -> dict:
    """The server's reattach record of a kernel (its connection key and launch secret)."""
    path = server.base / "runtime" / "remote-kernels" / f"{kernel_id}.json"
    return json.loads(path.read_text())


def kernel_objects(cluster, kernel_id: str = "", kinds=("pods", "secrets")) -> dict[str, list]:
    """Pods and Secrets of ``kernel_id`` (of any kernel, if empty) in every namespace, as the
    API lists them: {"pods": [...], "secrets": [...]} of their JSON."""
    selector = quote(f"{KERNEL_LABEL}={kernel_id}" if kernel_id else KERNEL_LABEL)
    return {kind: cluster.api("GET", f"/api/v1/{kind}?labelSelector={selector}")["items"]
            for kind in kinds}  # fmt: skip


def nothing_left(cluster, kernel_ids, timeout: float = 60) -> dict[str, list]:
    """Wait until no pod or Secret of ``kernel_ids`` is in the API and no process on the
    node mentions them; what is still there then (empty lists: nothing)."""

    def left() -> dict[str, list]:
        found: dict[str, list] = {"pods": [], "secrets": [], "processes": []}
        for kernel_id in kernel_ids:
            for kind, items in kernel_objects(cluster, kernel_id).items():
                found[kind] += [i["metadata"]["name"] for i in items]
            found["processes"] += pids_mentioning(kernel_id)
        return found

    wait_for(lambda: not any(left().values()), timeout)
    return left()
