"""Warm pools of Kubernetes kernels (issue 20, item 7), through a real Jupyter Server on the
real cluster: a kernelspec with ``pool_size`` 1 keeps one pod running before anyone asks; a
start takes that pod's kernel (same pod, asked of the API and of the kernel itself), faster
than a cold start of the same kernelspec without a pool; the pool launches a new pod; a
SIGKILLed server's successor takes the pool's pod back without launching another; server
stop deletes every pod and Secret of ours (asked of the API)."""

from __future__ import annotations

import json
import signal
import time

import pytest

from testing.k8sspecs import k8s_spec

from ..kernels import ws_execute
from ..pool_helpers import pool_kernel_ids, timed_start, wait_full
from ..server_process import ServerProcess

pytestmark = pytest.mark.timeout(600)

KERNEL_LABEL = "jupyter-remote-kernels/kernel-id"
OURS = "app.kubernetes.io/managed-by=jupyter-remote-kernels"


def pods(cluster) -> dict[str, str]:
    """Our pods: kernel id -> pod name."""
    items = cluster.api("GET", f"/api/v1/pods?labelSelector={OURS}").get("items", [])
    return {p["metadata"]["labels"][KERNEL_LABEL]: p["metadata"]["name"] for p in items
            if p["metadata"].get("deletionTimestamp") is None}


def secrets(cluster) -> list[str]:
    items = cluster.api("GET", f"/api/v1/secrets?labelSelector={OURS}").get("items", [])
    return [s["metadata"]["name"] for s in items]


def write_spec(base, name: str, spec: dict) -> None:
    folder = base / "data" / "kernels" / name
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps(spec))


def start_server(tmp_path) -> ServerProcess:
    return ServerProcess(tmp_path, token="k8s-pool", extra_args=[
        "--RemoteMappingKernelManager.pool_check_interval=1"]).start(timeout=60)


def test_pooled_k8s_kernel_is_handed_out_and_nothing_is_left(k8s_cluster, tmp_path):
    write_spec(tmp_path, "k8s-warm", k8s_spec(k8s_cluster, display_name="k8s warm",
                                              pool_size=1))
    write_spec(tmp_path, "k8s-cold", k8s_spec(k8s_cluster, display_name="k8s cold"))
    server = start_server(tmp_path)
    try:
        assert wait_full(server, "k8s-warm", timeout=180)["ready"] == 1
        warm = pool_kernel_ids(server, "k8s-warm")
        assert set(pods(k8s_cluster)) == warm  # its pod runs before anyone asked
        warm_pod = pods(k8s_cluster)[next(iter(warm))]

        pooled, kernel_id = timed_start(server, "k8s-warm")
        assert kernel_id in warm
        assert pods(k8s_cluster)[kernel_id] == warm_pod  # the same pod, handed out
        assert ws_execute(server, kernel_id, "import socket; print(socket.gethostname())",
                          timeout=60) == f"{warm_pod}\n"
        cold, cold_id = timed_start(server, "k8s-cold")
        print(f"k8s start: pooled {pooled:.2f} s, cold {cold:.2f} s")
        assert cold_id not in warm and pooled < cold, (pooled, cold)

        # The pool launches a new pod; a SIGKILLed server's successor takes it back.
        wait_full(server, "k8s-warm", timeout=180)
        refill = pool_kernel_ids(server, "k8s-warm")
        assert refill and not refill & warm
        before = pods(k8s_cluster)
        assert set(before) == {kernel_id, cold_id, *refill}
        server.stop(signal.SIGKILL)
        server = start_server(tmp_path)
        assert wait_full(server, "k8s-warm", timeout=120)["ready"] == 1
        assert pool_kernel_ids(server, "k8s-warm") == refill
        assert pods(k8s_cluster) == before  # no pod launched twice, none lost
    finally:
        server.stop(signal.SIGTERM, timeout=120)
    deadline = time.monotonic() + 30
    while (pods(k8s_cluster) or secrets(k8s_cluster)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert pods(k8s_cluster) == {} and secrets(k8s_cluster) == []
