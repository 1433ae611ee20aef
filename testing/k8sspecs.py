"""Our Kubernetes kernelspec for a running test cluster (:func:`k8s_spec`), shared by the
tests, the benchmark and the browser tests: the shipped ``kernelspecs/k8s`` template with the
cluster's kubeconfig, the Python + ipykernel image (``imagePullPolicy: Never``: no registry
here), the host's bridge address as the callback address, and any extra settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Union

from testing.k8scluster import PYTHON_IMAGE

__all__ = ["k8s_spec"]

TEMPLATE = Path(__file__).resolve().parents[1] / "kernelspecs" / "k8s" / "kernel.json"


def k8s_spec(cluster: Any, kubeconfig: Union[str, Path, None] = None, *,
             display_name: str = "Python (Kubernetes test cluster)", namespace: str = "default",
             pool_size: int = 0, launch_timeout: float = 120,
             resources: Optional[dict] = None, **config: Any) -> dict:
    """The kernelspec (a dict for ``kernel.json``); *kubeconfig* defaults to the admin's."""
    spec = json.loads(TEMPLATE.read_text())
    spec["display_name"] = display_name
    # The template's config holds its install-time @@FIELD@@ values: replaced, not updated
    # (a value left "@@NAMESPACE_TEMPLATE@@" would be taken as a namespace template).
    settings = {
        "k8s_image": PYTHON_IMAGE, "k8s_namespace": namespace,
        "k8s_image_pull_policy": "Never",
        "k8s_kubeconfig": str(kubeconfig or cluster.kubeconfig),
        "callback_ip": cluster.address, "launch_timeout": launch_timeout,
    }
    spec["metadata"]["process_proxy"]["config"] = settings
    if pool_size:
        settings["pool_size"] = pool_size
    if resources:
        settings["k8s_resources"] = resources
    settings.update(config)
    return spec
