"""The server and its Kubernetes kernels: a server stop deletes their pods; a SIGKILLed
server's kernels keep running and a new server reattaches to them (their state kept); a pod
deleted by someone else makes its kernel dead with that reason. Leftovers are looked up in
the API and the host's process table."""

from __future__ import annotations

import signal
import threading

import pytest

from ..k8s_helpers import (
    kernel_objects,
    nothing_left,
    placement,
    rows,
    start_kernel,
    wait_for,
    write_k8s_spec,
)
from ..kernels import ws_execute
from ..server_process import ServerProcess

NOTHING = {"pods": [], "secrets": [], "processes": []}

pytestmark = pytest.mark.timeout(600)


def test_server_stop_deletes_its_pods(k8s_cluster, tmp_path):
    """Two running kernels and one whose pod cannot be scheduled: a server stop deletes all
    three pods and their Secrets."""
    write_k8s_spec(k8s_cluster, tmp_path, "k8s-py")
    write_k8s_spec(k8s_cluster, tmp_path, "k8s-big", launch_timeout=300,
                   k8s_resources={"requests": {"cpu": "64"}})
    srv = ServerProcess(tmp_path, token="k8s").start(timeout=60)
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(start_kernel(srv, "k8s-py")))
               for _ in range(2)]  # fmt: skip
    pending = threading.Thread(target=lambda: start_kernel(srv, "k8s-big"), daemon=True)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(200)
        assert [r.status_code for r in results] == [201, 201], [r.text for r in results]
        ids = [r.json()["id"] for r in results]
        assert all(len(kernel_objects(k8s_cluster, k)["pods"]) == 1 for k in ids)
        pending.start()
        shown = wait_for(lambda: [k["kernel_id"] for k in rows(srv)
                                  if k["placement"]["phase"] == "pending"], 30)  # fmt: skip
        assert shown, rows(srv)
        ids += shown
    finally:
        srv.stop(signal.SIGTERM, timeout=120)
    assert srv.process.returncode is not None
    assert nothing_left(k8s_cluster, ids, timeout=0) == NOTHING


def test_sigkilled_server_reattaches_to_its_pod(k8s_cluster, tmp_path):
    """SIGKILL the server: the pod keeps running; a new server (reattach on, the default)
    finds the kernel, which still has its state; deleting it deletes pod and Secret."""
    write_k8s_spec(k8s_cluster, tmp_path, "k8s-py")
    first = ServerProcess(tmp_path, token="k8s").start(timeout=60)
    try:
        r = start_kernel(first, "k8s-py")
        assert r.status_code == 201, r.text
        kernel_id, pod = r.json()["id"], r.json()["placement"]["details"]["pod"]
        assert ws_execute(first, kernel_id, "x = 'kept'; print(x)") == "kept\n"
    finally:
        first.stop(signal.SIGKILL, timeout=30)
    # The kubelet reports the pod's phase on its own time (seen Pending for a while on a
    # loaded machine while the kernel already answered): wait for its word, then look.
    wait_for(lambda: [p["status"].get("phase") for p in kernel_objects(
        k8s_cluster, kernel_id)["pods"]] == ["Running"], 30)  # fmt: skip
    [running] = kernel_objects(k8s_cluster, kernel_id)["pods"]
    assert running["metadata"]["name"] == pod and running["status"]["phase"] == "Running"

    second = ServerProcess(tmp_path, token="k8s").start(timeout=60)
    try:
        def reattached():
            ids = [k["id"] for k in second.request("GET", "/api/kernels").json()]
            return kernel_id in ids and placement(second, kernel_id)["phase"] == "ready"

        assert wait_for(reattached, 60), second.request("GET", "/api/remote-kernels").json()
        again = placement(second, kernel_id)
        assert again["details"]["pod"] == pod and again["where"].startswith(f"k8s · pod {pod}")
        assert ws_execute(second, kernel_id, "print(x)") == "kept\n"
        assert second.request("DELETE", f"/api/kernels/{kernel_id}").status_code == 204
        assert nothing_left(k8s_cluster, [kernel_id], timeout=0) == NOTHING
    finally:
        second.stop(signal.SIGTERM, timeout=120)


def test_pod_deleted_by_someone_else_is_reported(k8s_cluster, tmp_path):
    """Someone deletes the kernel's pod: the kernel is dead with that reason (server log),
    and its Secret goes with the pod."""
    write_k8s_spec(k8s_cluster, tmp_path, "k8s-py")
    srv = ServerProcess(tmp_path, token="k8s",
                        extra_args=["--KernelRestarter.restart_limit=0"]).start(timeout=60)
    try:
        r = start_kernel(srv, "k8s-py")
        assert r.status_code == 201, r.text
        kernel_id, pod = r.json()["id"], r.json()["placement"]["details"]["pod"]
        k8s_cluster.api("DELETE", f"/api/v1/namespaces/default/pods/{pod}?gracePeriodSeconds=1")
        said = f"Kernel {kernel_id} died: its pod {pod}"

        def log_line():
            text = srv.log_path.read_text(errors="replace")
            return next((x for x in text.splitlines() if said in x), None)

        line = wait_for(log_line, 60, 0.5)
        assert line, srv.log_path.read_text(errors="replace")[-3000:]
        assert line.endswith("ended: the pod was deleted (not by this server)."), line
        assert nothing_left(k8s_cluster, [kernel_id], timeout=30) == NOTHING
    finally:
        srv.stop(signal.SIGTERM, timeout=120)
