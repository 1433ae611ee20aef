"""Kernels as pods on the real Kubernetes test cluster, through a real `jupyter server`.

One server for the module, kernelspecs from the shipped ``k8s`` template with the test
cluster's image (``imagePullPolicy: Never``). What is left is asserted from the API (pods and
Secrets with the kernel's label) and the host's process table (the node's containers are
processes of this machine).
"""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest
from websocket import WebSocketException

from testing.specs import pids_mentioning

from ..k8s_helpers import (
    kernel_objects,
    nothing_left,
    placement,
    record_of,
    rows,
    start_kernel,
    wait_for,
    write_k8s_spec,
)
from ..kernels import ws_execute
from ..secret_search import secrets_in_argv
from ..server_process import ServerProcess
from ..yarn_helpers import interrupt_sleep

WEIRD = "a \"quoted\" $HOME `id` $(touch /tmp/jrk-k8s-pwned) 'single' \\back; exit 3"
NOTHING = {"pods": [], "secrets": [], "processes": []}

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def srv(k8s_cluster, tmp_path_factory):
    """One server: the ordinary spec, one asking for more CPU than the node has (short launch
    timeout), one naming an image that is not there, one with a small memory limit. No
    automatic restart: a test sees a death itself, not a replacement kernel."""
    base = tmp_path_factory.mktemp("k8s-server")
    write_k8s_spec(k8s_cluster, base, "k8s-py")
    write_k8s_spec(k8s_cluster, base, "k8s-big", launch_timeout=12,
                   k8s_resources={"requests": {"cpu": "64"}})
    node = k8s_cluster.api("GET", f"/api/v1/nodes/{k8s_cluster.node_name}")
    cpu = node["status"]["allocatable"]["cpu"]
    millis = int(cpu[:-1]) if cpu.endswith("m") else int(float(cpu) * 1000)
    write_k8s_spec(k8s_cluster, base, "k8s-most-cpu",
                   k8s_resources={"requests": {"cpu": f"{millis * 6 // 10}m"}})
    folder = write_k8s_spec(k8s_cluster, base, "k8s-no-ip")
    spec = json.loads((folder / "kernel.json").read_text())
    spec["argv"] = spec["argv"][: spec["argv"].index("--ip")]
    (folder / "kernel.json").write_text(json.dumps(spec))
    write_k8s_spec(k8s_cluster, base, "k8s-noimage", k8s_image="jrk.test/no-such-image:1")
    write_k8s_spec(k8s_cluster, base, "k8s-oom",
                   k8s_resources={"limits": {"memory": "160Mi"}})  # fmt: skip
    server = ServerProcess(base, token="k8s", extra_args=["--KernelRestarter.restart_limit=0"])
    server.start(timeout=60)
    yield server
    server.stop(signal.SIGTERM, timeout=120)


def placed_at_ready(srv, r) -> dict:
    """The placement as the start's answer and, right after, ``/api/remote-kernels`` show it:
    the pod IP is there at ready (from the launcher's callback), whenever the kubelet
    reports it."""
    answered = r.json()["placement"]
    assert answered["phase"] == "ready" and answered["details"]["pod_ip"], answered
    shown = placement(srv, r.json()["id"])
    assert shown["details"]["pod_ip"] == answered["details"]["pod_ip"], shown
    return shown


def test_lifecycle_start_execute_interrupt_restart_delete(k8s_cluster, srv):
    """start -> ready in a pod (placement, details), no secret in the pod object or any argv,
    a shell-hostile KERNEL_* value reaches the kernel literally, interrupt, restart (a new
    pod, the old one gone), delete: no pod, Secret or process of the kernel left."""
    r = start_kernel(srv, "k8s-py", KERNEL_WEIRD=WEIRD)
    assert r.status_code == 201, r.text
    kernel_id = r.json()["id"]
    first = placed_at_ready(srv, r)
    pod_name = first["details"]["pod"]
    assert first["kind"] == "k8s" and first["phase"] == "ready", first
    assert first["where"] == f"k8s · pod {pod_name} on {k8s_cluster.node_name}", first
    assert first["details"]["namespace"] == "default", first
    assert first["details"]["pod_ip"].startswith(k8s_cluster.subnet + "."), first
    assert first["host"] == k8s_cluster.node_name and first["ip"] == first["details"]["pod_ip"]

    objects = kernel_objects(k8s_cluster, kernel_id)
    [pod], [secret] = objects["pods"], objects["secrets"]
    assert pod["metadata"]["name"] == secret["metadata"]["name"] == pod_name
    assert pod["metadata"]["labels"]["jupyter-remote-kernels/server"], pod["metadata"]
    [owner] = secret["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"]) == ("Pod", pod["metadata"]["uid"]), owner
    [volume] = [v for v in pod["spec"]["volumes"] if "secret" in v]
    assert volume["secret"]["defaultMode"] == 0o400, volume
    record = record_of(srv, kernel_id)
    keys = {"signing key": record["connection_info"]["key"].encode(),
            "launch secret": record["provisioner_info"]["auth_key"].encode()}  # fmt: skip
    spec_text = json.dumps(pod).encode()
    assert not [n for n, k in keys.items() if k in spec_text], "a secret in the pod object"
    # The node's processes are this machine's: the launcher and the kernel are seen here.
    assert len(pids_mentioning(kernel_id)) >= 2, pids_mentioning(kernel_id)
    assert secrets_in_argv(keys) == []

    out = ws_execute(srv, kernel_id, "import os, socket\nprint(repr(os.environ['KERNEL_WEIRD']))"
                     "\nprint(socket.gethostname())\nprint(oct(os.stat("
                     "'/var/run/jupyter-remote-kernels/launch-bundle').st_mode & 0o777))"
                     "\nprint(sorted(v for k, v in os.environ.items() if 'JRK' in k))")  # fmt: skip
    # The bundle file is 0400; the pod's environment holds only its IP of ours.
    assert out.splitlines() == [repr(WEIRD), pod_name, "0o400", repr([first["ip"]])], out

    reply = interrupt_sleep(srv, kernel_id)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", reply

    assert ws_execute(srv, kernel_id, "x = 42; print(x)") == "42\n"
    r = srv.request("POST", f"/api/kernels/{kernel_id}/restart", timeout=200)
    assert r.status_code == 200, r.text
    second = placement(srv, kernel_id)
    assert second["phase"] == "ready" and second["details"]["pod"] != pod_name, second
    names = [p["metadata"]["name"] for p in kernel_objects(k8s_cluster, kernel_id)["pods"]]
    assert names == [second["details"]["pod"]], names
    assert ws_execute(srv, kernel_id, "print('x' in dir())") == "False\n"

    r = srv.request("DELETE", f"/api/kernels/{kernel_id}")
    assert r.status_code == 204, r.text
    # The API said both were gone before the DELETE returned: look at once.
    assert nothing_left(k8s_cluster, [kernel_id], timeout=0) == NOTHING


def test_five_concurrent_starts(k8s_cluster, srv):
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(start_kernel(srv, "k8s-py")))
               for _ in range(5)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(200)
    assert [r.status_code for r in results] == [201] * 5, [r.text for r in results]
    ids = [r.json()["id"] for r in results]
    pods = {r.json()["placement"]["details"]["pod"] for r in results}
    assert len(pods) == 5, pods
    for kernel_id in ids:
        assert ws_execute(srv, kernel_id, "print(6 * 7)") == "42\n"
    for kernel_id in ids:
        assert srv.request("DELETE", f"/api/kernels/{kernel_id}").status_code == 204
    assert nothing_left(k8s_cluster, ids, timeout=0) == NOTHING


def test_argv_without_ip_is_reached_at_the_pod_ip(k8s_cluster, srv):
    """A kernelspec whose argv does not pass ``--ip {pod_ip}`` (an older or hand-written one):
    the kernel binds the pod's network namespace and the server reaches it at the pod IP."""
    r = start_kernel(srv, "k8s-no-ip")
    assert r.status_code == 201, r.text
    kernel_id = r.json()["id"]
    where = placed_at_ready(srv, r)
    assert where["ip"] == where["details"]["pod_ip"], where
    assert ws_execute(srv, kernel_id, "print(6 * 7)") == "42\n"
    assert srv.request("DELETE", f"/api/kernels/{kernel_id}").status_code == 204
    assert nothing_left(k8s_cluster, [kernel_id], timeout=0) == NOTHING


def test_unschedulable_pod_is_pending_with_the_schedulers_message(k8s_cluster, srv):
    """A pod asking for more CPU than the node has: `pending` with the scheduler's own message
    in /api/remote-kernels; at the launch timeout it is deleted, the error names the reason."""
    got: dict = {}
    starter = threading.Thread(target=lambda: got.update(r=start_kernel(srv, "k8s-big")))
    starter.start()

    def pending():
        return [k for k in rows(srv) if k["placement"]["phase"] == "pending"
                and "Insufficient cpu" in k["placement"]["detail"]]  # fmt: skip

    shown = wait_for(pending, 30)
    starter.join(120)
    assert shown, rows(srv)
    kernel_id, row = shown[0]["kernel_id"], shown[0]["placement"]
    assert row["detail"].startswith("0/1 nodes are available: 1 Insufficient cpu"), row
    assert row["where"] == f"k8s · pod {row['details']['pod']}", row
    r = got["r"]
    assert r.status_code == 504, r.text
    message = r.json()["message"]
    assert "still pending" in message and "Insufficient cpu" in message, message
    assert "was deleted" in message, message
    assert nothing_left(k8s_cluster, [kernel_id], timeout=0) == NOTHING


def test_pending_pod_starts_when_capacity_frees(k8s_cluster, srv):
    """Two kernels each asking for 60 % of the node's CPU: the second is `pending` with the
    scheduler's message until the first is deleted, then it starts."""
    first = start_kernel(srv, "k8s-most-cpu")
    assert first.status_code == 201, first.text
    got: dict = {}
    starter = threading.Thread(target=lambda: got.update(r=start_kernel(srv, "k8s-most-cpu")))
    starter.start()

    def pending():
        return [k for k in rows(srv) if k["placement"]["phase"] == "pending"
                and "Insufficient cpu" in k["placement"]["detail"]]  # fmt: skip

    shown = wait_for(pending, 30)
    assert shown, rows(srv)
    assert srv.request("DELETE", f"/api/kernels/{first.json()['id']}").status_code == 204
    starter.join(120)
    second = got["r"]
    assert second.status_code == 201, second.text
    assert second.json()["id"] == shown[0]["kernel_id"], (second.json(), shown)
    assert second.json()["placement"]["phase"] == "ready"
    ids = [first.json()["id"], second.json()["id"]]
    assert srv.request("DELETE", f"/api/kernels/{ids[1]}").status_code == 204
    assert nothing_left(k8s_cluster, ids, timeout=0) == NOTHING


def test_missing_image_fails_within_seconds_naming_it(k8s_cluster, srv):
    t0 = time.monotonic()
    r = start_kernel(srv, "k8s-noimage")
    took = time.monotonic() - t0
    assert r.status_code == 500, r.text
    message = r.json()["message"]
    assert "jrk.test/no-such-image:1" in message and "ErrImageNeverPull" in message, message
    assert took < 20, took
    kernel_id = message.split()[1].rstrip(":")
    assert nothing_left(k8s_cluster, [kernel_id], timeout=0) == NOTHING


def test_memory_limit_exceeded_makes_the_kernel_dead_with_oomkilled(k8s_cluster, srv):
    r = start_kernel(srv, "k8s-oom")
    assert r.status_code == 201, r.text
    kernel_id = r.json()["id"]
    with pytest.raises((TimeoutError, OSError, WebSocketException)):
        ws_execute(srv, kernel_id, "x = bytearray(400 * 1024 * 1024); print('not killed')",
                   timeout=20)  # fmt: skip

    said = f"Kernel {kernel_id} died: its pod {r.json()['placement']['details']['pod']}"

    def log_says() -> bool:
        return said in srv.log_path.read_text(errors="replace")

    assert wait_for(log_says, 60, 0.5), srv.log_path.read_text(errors="replace")[-3000:]
    line = next(x for x in srv.log_path.read_text().splitlines() if said in x)
    assert "OOMKilled (its memory limit was exceeded), exit code 137" in line, line
    row = srv.request("GET", f"/api/remote-kernels/{kernel_id}")
    if row.status_code == 200:  # still listed until Jupyter drops the dead kernel
        assert row.json()["placement"]["phase"] == "dead", row.json()
        assert "OOMKilled" in row.json()["placement"]["error"], row.json()
    # Jupyter drops a dead kernel it does not restart: its pod and Secret go all the same.
    assert nothing_left(k8s_cluster, [kernel_id], timeout=30) == NOTHING
    srv.request("DELETE", f"/api/kernels/{kernel_id}")
