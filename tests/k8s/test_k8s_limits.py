"""Resources and limits of Kubernetes kernels through a real Jupyter Server on the real test
cluster: a start request beyond the admin's limits is refused (403 naming the limit, 400 for a
malformed value) and makes nothing; one within them is honoured (the pod read from the API:
namespace, image, resources, securityContext; the kernel's own uid/gid); a per-user namespace
is made on demand and deleted when its last kernel ends, and nothing of ours is left."""

from __future__ import annotations

import json

import pytest

from testing.k8scluster import PYTHON_IMAGE

from ..kernels import ws_execute
from ..server_process import ServerProcess
from .ops_helpers import (
    NOTHING,
    k8s_spec,
    namespaces,
    nothing_left,
    ours,
    start_kernel,
    wait_for,
    write_spec,
)

pytestmark = pytest.mark.timeout(600)

EXTRA_NS = "jrk-ops-extra"
USER = "Alice.Smith"  # the kernel user of the server's token holder (mapped), not a DNS label


@pytest.fixture(scope="module")
def server(k8s_cluster, tmp_path_factory):
    base = tmp_path_factory.mktemp("k8s-limits")
    write_spec(base, "k8s-limited", k8s_spec(
        k8s_cluster,
        k8s_resources={"requests": {"cpu": "100m", "memory": "64Mi"},
                       "limits": {"memory": "256Mi"}},
        max_cpus="500m", max_memory="512Mi", allowed_images=[PYTHON_IMAGE],
        allowed_namespaces=[EXTRA_NS], k8s_run_as_user=1000, k8s_run_as_group=1000,
        k8s_run_as_non_root=True, allowed_uids=["1000-1999"]))  # fmt: skip
    write_spec(base, "k8s-per-user", k8s_spec(
        k8s_cluster, k8s_namespace_template="jrk-ops-{username}"))  # fmt: skip
    k8s_cluster.api("POST", "/api/v1/namespaces", {"metadata": {"name": EXTRA_NS}})
    srv = ServerProcess(base, token="k8sops", extra_args=[
        "--ServerApp.identity_provider_class="
        "jupyter_remote_kernels.identity.NamedTokenIdentityProvider",
        "--NamedTokenIdentityProvider.token_username=alice",
        f"--RemoteMappingKernelManager.kernel_user_mapping={json.dumps({'alice': USER})}",
    ]).start(timeout=90)  # fmt: skip
    try:
        yield srv
    finally:
        srv.stop(timeout=120)
        k8s_cluster.api("DELETE", f"/api/v1/namespaces/{EXTRA_NS}")


@pytest.mark.parametrize(("env", "status", "words"), [
    ({"KERNEL_CPUS": "2"}, 403, "max_cpus: 500m"),
    ({"KERNEL_MEMORY_LIMIT": "4Gi"}, 403, "max_memory: 512Mi"),
    ({"KERNEL_IMAGE": "docker.io/evil/miner:1"}, 403, f"allowed_images: {PYTHON_IMAGE}"),
    ({"KERNEL_NAMESPACE": "kube-system"}, 403, f"allowed_namespaces: {EXTRA_NS}"),
    ({"KERNEL_UID": "0"}, 403, "allowed_uids: 1000-1999"),
    ({"KERNEL_VOLUMES": "[{name: root, hostPath: {path: /}}]"}, 403, "KERNEL_VOLUMES"),
    ({"KERNEL_MEMORY": "128Mi; rm -rf /"}, 400, "not a memory quantity"),
])  # fmt: skip
def test_request_beyond_the_limits_is_refused_and_makes_nothing(
    k8s_cluster, server, env, status, words
):
    r = start_kernel(server, "k8s-limited", **env)
    assert r.status_code == status, r.text
    assert words in r.json()["message"], r.text
    assert ours(k8s_cluster, "pods") == [] and ours(k8s_cluster, "secrets") == []


def test_request_within_the_limits_is_honoured(k8s_cluster, server):
    r = start_kernel(
        server,
        "k8s-limited",
        KERNEL_CPUS="250m",
        KERNEL_MEMORY="128Mi",
        KERNEL_UID="1500",
        KERNEL_NAMESPACE=EXTRA_NS,
        KERNEL_IMAGE=PYTHON_IMAGE,
    )
    assert r.status_code == 201, r.text
    kernel_id = r.json()["id"]
    try:
        [pod] = ours(k8s_cluster, "pods", EXTRA_NS)
        container = pod["spec"]["containers"][0]
        assert pod["metadata"]["namespace"] == EXTRA_NS
        assert container["image"] == PYTHON_IMAGE
        assert container["resources"] == {
            "requests": {"cpu": "250m", "memory": "128Mi"},
            "limits": {"memory": "256Mi"},
        }
        assert pod["spec"]["securityContext"] == {
            "runAsUser": 1500,
            "runAsGroup": 1000,
            "fsGroup": 1000,
            "runAsNonRoot": True,
        }
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        }
        out = ws_execute(server, kernel_id, "import os; print(os.getuid(), os.getgid())", 60)
        assert out.split() == ["1500", "1000"], out
    finally:
        assert server.request("DELETE", f"/api/kernels/{kernel_id}").status_code == 204
    assert nothing_left(k8s_cluster, [kernel_id]) == NOTHING


def test_per_user_namespace_is_made_and_goes_with_its_last_kernel(k8s_cluster, server):
    first = start_kernel(server, "k8s-per-user")
    assert first.status_code == 201, first.text
    made = [n for n in namespaces(k8s_cluster) if n.startswith("jrk-ops-alice-smith-")]
    assert len(made) == 1, namespaces(k8s_cluster)
    ns = k8s_cluster.api("GET", f"/api/v1/namespaces/{made[0]}")
    assert ns["metadata"]["labels"]["jupyter-remote-kernels/created"] == "true"
    second = start_kernel(server, "k8s-per-user")
    assert second.status_code == 201, second.text
    assert len(ours(k8s_cluster, "pods", made[0])) == 2
    assert ws_execute(server, second.json()["id"], "print(6 * 7)", 60).strip() == "42"
    ids = [first.json()["id"], second.json()["id"]]
    assert server.request("DELETE", f"/api/kernels/{ids[0]}").status_code == 204
    # One kernel still runs there: the namespace stays.
    assert made[0] in namespaces(k8s_cluster)
    assert server.request("DELETE", f"/api/kernels/{ids[1]}").status_code == 204
    # The DELETE returns once the namespace is gone (the API's own word).
    assert made[0] not in namespaces(k8s_cluster)
    assert wait_for(lambda: made[0] not in namespaces(k8s_cluster), 5)
    assert nothing_left(k8s_cluster, ids) == NOTHING
