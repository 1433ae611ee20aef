"""The real Kubernetes test bed itself (testing/k8scluster): the cluster comes up with a Ready
node; a pod of the Python + ipykernel image imports ipykernel; a pod reaches the host's bridge
address (how kernels will call back); the scheduler keeps a too-big pod Pending with its
``Insufficient cpu`` message; a memory limit OOM-kills; and `up`/`down` leave nothing on the
host (processes, mounts, network namespaces, bridge, cgroups, iptables chains, sysctls),
asserted by looking at the host. The API is reached with kubernetes_asyncio, the client the
backend uses."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from kubernetes_asyncio import client, config

from testing.k8scluster import PYTHON_IMAGE, recorded_clusters
from testing.k8scluster.host import SYSCTLS
from testing.k8scluster.procs import ENV_MARK
from testing.procs import all_pids, environ

pytestmark = pytest.mark.timeout(400)
REPO = Path(__file__).resolve().parents[2]


# -- helpers ---------------------------------------------------------------------------------
def run(coro, timeout: float = 180.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def core_api(kubeconfig: Path) -> client.ApiClient:
    cfg = client.Configuration()
    await config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    return client.ApiClient(cfg)


def pod_body(name: str, command: list[str], resources: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"jrk-test": "k8scluster"}},
            "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                     "automountServiceAccountToken": False,
                     "containers": [{"name": "main", "image": PYTHON_IMAGE,
                                     "imagePullPolicy": "Never", "command": command,
                                     "resources": resources or {}}]}}


async def wait_pod(v1: client.CoreV1Api, name: str, done, timeout: float = 120.0):
    """Poll the pod until ``done(pod)``; the pod. Fails naming its last status."""
    deadline = time.monotonic() + timeout
    while True:
        pod = await v1.read_namespaced_pod(name, "default")
        if done(pod):
            return pod
        if time.monotonic() > deadline:
            pytest.fail(f"pod {name} did not get there in {timeout:g} s: {pod.status}")
        await asyncio.sleep(0.5)


async def with_pod(kubeconfig: Path, body: dict, check):
    """Create *body* in ``default``, ``await check(v1, name)``, delete the pod (grace 0)."""
    async with await core_api(kubeconfig) as api:
        v1 = client.CoreV1Api(api)
        name = body["metadata"]["name"]
        await v1.create_namespaced_pod("default", body)
        try:
            return await check(v1, name)
        finally:
            await v1.delete_namespaced_pod(name, "default", grace_period_seconds=0)


def finished(pod) -> bool:
    return pod.status.phase in ("Succeeded", "Failed")


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


# -- the shared cluster ----------------------------------------------------------------------
def test_cluster_is_up_with_a_ready_node(k8s_cluster):
    async def check():
        async with await core_api(k8s_cluster.kubeconfig) as api:
            nodes = (await client.CoreV1Api(api).list_node()).items
            version = await client.VersionApi(api).get_code()
        return nodes, version

    nodes, version = run(check())
    assert [n.metadata.name for n in nodes] == [k8s_cluster.node_name]
    ready = {c.type: c.status for c in nodes[0].status.conditions}["Ready"]
    assert ready == "True"
    addresses = {a.type: a.address for a in nodes[0].status.addresses}
    assert addresses["InternalIP"] == k8s_cluster.address
    assert version.git_version == "v1.34.4"


def test_python_image_pod_imports_ipykernel(k8s_cluster):
    body = pod_body(unique("ipykernel"), [
        "python3", "-c", "import ipykernel, sys; print('ipykernel', ipykernel.__version__, "
        "'imported on Python', sys.version.split()[0])"])

    async def check(v1, name):
        pod = await wait_pod(v1, name, finished)
        return pod, await v1.read_namespaced_pod_log(name, "default")

    pod, log = run(with_pod(k8s_cluster.kubeconfig, body, check))
    assert pod.status.phase == "Succeeded", (pod.status, log)
    assert re.search(r"^ipykernel \d+\.\d+.* imported on Python 3\.11", log, re.M), log


def test_pod_reaches_the_hosts_bridge_address(k8s_cluster):
    """A TCP listener on the host's bridge address gets the pod's connection and bytes."""
    listener = socket.create_server((k8s_cluster.address, 0))
    listener.settimeout(120)
    port = listener.getsockname()[1]
    got: dict = {}

    def accept():
        try:
            conn, peer = listener.accept()
            with conn:
                conn.settimeout(30)
                got["peer"], got["data"] = peer[0], conn.recv(100)
                conn.sendall(b"hello pod")
        except OSError as exc:
            got["error"] = exc

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    body = pod_body(unique("callback"), [
        "python3", "-c",
        "import socket, sys; s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 20);"
        " s.sendall(b'hello host'); print('reply', s.recv(100).decode())",
        k8s_cluster.address, str(port)])

    async def check(v1, name):
        pod = await wait_pod(v1, name, finished)
        return pod, await v1.read_namespaced_pod_log(name, "default")

    try:
        pod, log = run(with_pod(k8s_cluster.kubeconfig, body, check))
        thread.join(30)
    finally:
        listener.close()
    assert "error" not in got, got
    assert got.get("data") == b"hello host"
    assert got["peer"] == pod.status.pod_ip
    assert got["peer"].startswith(k8s_cluster.subnet + ".")
    assert pod.status.phase == "Succeeded" and "reply hello pod" in log, log


def test_unschedulable_pod_stays_pending_with_the_schedulers_reason(k8s_cluster):
    body = pod_body(unique("too-big"), ["python3", "-c", "pass"],
                    {"requests": {"cpu": "64"}})

    def unschedulable(pod):
        return any(c.type == "PodScheduled" and c.status == "False"
                   and c.reason == "Unschedulable" for c in pod.status.conditions or [])

    async def check(v1, name):
        pod = await wait_pod(v1, name, unschedulable, timeout=60)
        await asyncio.sleep(3)
        return pod, await v1.read_namespaced_pod(name, "default")

    pod, later = run(with_pod(k8s_cluster.kubeconfig, body, check))
    message = next(c.message for c in pod.status.conditions if c.type == "PodScheduled")
    assert re.search(r"0/1 nodes are available: 1 Insufficient cpu", message), message
    assert later.status.phase == "Pending" and not later.spec.node_name


def test_memory_limited_pod_is_oomkilled(k8s_cluster):
    body = pod_body(unique("oom"), [
        "python3", "-c", "x = b'x' * (512 * 1024 * 1024); print('not killed')"],
        {"requests": {"memory": "48Mi"}, "limits": {"memory": "48Mi"}})

    async def check(v1, name):
        return await wait_pod(v1, name, finished)

    pod = run(with_pod(k8s_cluster.kubeconfig, body, check))
    terminated = pod.status.container_statuses[0].state.terminated
    assert pod.status.phase == "Failed", pod.status
    assert (terminated.reason, terminated.exit_code) == ("OOMKilled", 137), terminated


# -- up and down leave nothing -----------------------------------------------------------------
def host_view(cluster_id: str, workdir: str, bridge: str) -> dict:
    """What of this cluster the host shows, looked up directly."""
    mark = f"{cluster_id}-"
    procs = [pid for pid in all_pids() if environ(pid).get(ENV_MARK, "").startswith(mark)]
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
              if workdir in line]
    cgroups = [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/jrk-k8s-{cluster_id}")]
    cgroup_procs = [p for c in cgroups for f in Path(c).rglob("cgroup.procs")
                    for p in f.read_text().split()]
    return {"processes": procs, "mounts": mounts, "cgroups": cgroups,
            "cgroup_processes": cgroup_procs, "bridge": Path(f"/sys/class/net/{bridge}").exists(),
            "workdir": Path(workdir).exists()}


def host_wide() -> dict:
    """Host-wide things a cluster may change: sysctls, Kubernetes' and CNI's iptables chains,
    pod network namespaces, folders in /var, /run, /etc, /opt."""
    chains = {}
    for tool in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle"):
            out = subprocess.run([f"/usr/sbin/{tool}-save", "-t", table], capture_output=True,
                                 text=True, check=False).stdout
            chains[f"{tool}/{table}"] = sorted(re.findall(r"^:((?:KUBE|CNI)-\S+)", out, re.M))
    # Pod sandboxes' namespaces (the SSH beds of other runs come and go as jrk-sshbed-*).
    netns = sorted(n for n in os.listdir("/run/netns") if n.startswith("cni-")) \
        if Path("/run/netns").is_dir() else []
    paths = {p: os.path.lexists(p) for p in (
        "/var/lib/kubelet", "/var/lib/cni", "/run/containerd", "/var/log/pods",
        "/var/lib/containerd", "/etc/cni", "/opt/cni")}
    return {"sysctls": {k: Path("/proc/sys", k).read_text().strip() for k in SYSCTLS},
            "iptables": chains, "netns": netns, "paths": paths}


def up_pod_then(stop: list[str], *, kill_owner: bool = False) -> tuple[dict, dict, str]:
    """`python -m testing.k8scluster up`, a running pod; then (the owner SIGKILLed first when
    *kill_owner*) run *stop*. Returns what the host showed of the cluster while up, what it
    shows after, and up's output."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    up = subprocess.Popen([sys.executable, "-m", "testing.k8scluster", "up"], cwd=REPO, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        kubeconfig = None
        while kubeconfig is None and time.monotonic() < deadline:
            line = up.stdout.readline()
            if not line:
                pytest.fail("up exited: " + "".join(lines))
            lines.append(line)
            if line.startswith("export KUBECONFIG="):
                kubeconfig = Path(line.split("=", 1)[1].strip())
        assert kubeconfig, "".join(lines)
        state = next(s for s in recorded_clusters() if s["owner_pid"] == up.pid)
        ids = (state["id"], state["workdir"], state["bridge"])

        async def pod_then_stop():
            async with await core_api(kubeconfig) as api:
                v1 = client.CoreV1Api(api)
                body = pod_body(unique("left"), ["sleep", "600"])
                await v1.create_namespaced_pod("default", body)
                await wait_pod(v1, body["metadata"]["name"],
                               lambda p: p.status.phase == "Running")
            during = host_view(*ids)
            if kill_owner:
                up.kill()
                up.wait(30)
            await asyncio.to_thread(subprocess.run, [sys.executable, *stop], cwd=REPO, env=env,
                                    check=True, timeout=120)
            return during

        during = run(pod_then_stop(), timeout=300)
        rc = up.wait(60)
        lines += up.stdout.readlines()
        assert rc == (-signal.SIGKILL if kill_owner else 0), "".join(lines)
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
            up.wait(60)
    return during, host_view(*ids), "".join(lines)


NOTHING = {"processes": [], "mounts": [], "cgroups": [], "cgroup_processes": [],
           "bridge": False, "workdir": False}


def test_cli_up_and_down_leave_nothing():
    """`python -m testing.k8scluster up`, a running pod, `down`: nothing of the cluster is
    left and the host-wide settings are back (this test runs before the shared cluster
    starts: see conftest)."""
    assert not recorded_clusters(), "another Kubernetes test cluster is running"
    before = host_wide()
    during, after, out = up_pod_then(["-m", "testing.k8scluster", "down"])
    # While up, the look finds everything (so the look after can fail):
    assert during["processes"] and during["mounts"] and during["cgroups"], during
    assert during["cgroup_processes"] and during["bridge"] and during["workdir"], during
    assert after == NOTHING, (after, out)
    assert host_wide() == before
    assert not recorded_clusters()


def test_a_killed_owners_cluster_is_reaped():
    """The owner of a running cluster (its `up`) is SIGKILLed: the daemons, shims and pod
    live on; the next harness call (cleanup_stale, here through `down`) removes them all and
    restores the host."""
    assert not recorded_clusters(), "another Kubernetes test cluster is running"
    before = host_wide()
    during, after, out = up_pod_then([
        "-c", "from testing.k8scluster import cleanup_stale; print(cleanup_stale())"],
        kill_owner=True)
    assert during["processes"] and during["cgroup_processes"] and during["mounts"], during
    assert after == NOTHING, (after, out)
    assert host_wide() == before
