"""Enterprise Gateway's ``KubernetesProcessProxy`` kernelspec and gateway_provisioners'
``kubernetes-provisioner`` kernelspec (as GP's own ``jupyter-k8s-spec install`` writes it)
start kernels unchanged through a real Jupyter Server on the real test cluster (the pod runs
this package's launcher in the plain Python image: no launcher baked in), and
``jupyter remote-kernels migrate`` rewrites both into specs that start too."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from testing.k8scluster import PYTHON_IMAGE

from ..gp import gp_dir, gp_env
from ..kernels import ws_execute
from ..server_process import ServerProcess
from .ops_helpers import NOTHING, nothing_left, ours, start_kernel, write_spec

pytestmark = pytest.mark.timeout(600)

#: EG 3.3's etc/kernelspecs/python_kubernetes/kernel.json, its image set by the admin.
EG_SPEC = {
    "language": "python",
    "display_name": "Python on Kubernetes",
    "metadata": {
        "process_proxy": {
            "class_name": "enterprise_gateway.services.processproxies.k8s.KubernetesProcessProxy",
            "config": {"image_name": PYTHON_IMAGE},
        },
        "debugger": True,
    },
    "env": {},
    "argv": [
        "python",
        "/usr/local/share/jupyter/kernels/python_kubernetes/scripts/launch_kubernetes.py",
        "--RemoteProcessProxy.kernel-id",
        "{kernel_id}",
        "--RemoteProcessProxy.port-range",
        "{port_range}",
        "--RemoteProcessProxy.response-address",
        "{response_address}",
        "--RemoteProcessProxy.public-key",
        "{public_key}",
    ],
}


@pytest.fixture(scope="module")
def setup(k8s_cluster, tmp_path_factory):
    base = tmp_path_factory.mktemp("k8s-compat")
    write_spec(base, "eg_k8s", EG_SPEC)
    folder = gp_dir()
    made = subprocess.run(
        [
            sys.executable,
            str(folder / "bin" / "jupyter-k8s-spec"),
            "install",
            "--prefix",
            str(base / "gp"),
            "--kernel-name",
            "gp_k8s",
            "--image-name",
            PYTHON_IMAGE,
        ],
        env=gp_env(folder),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    gp_spec = json.loads((base / "gp/share/jupyter/kernels/gp_k8s/kernel.json").read_text())
    assert gp_spec["metadata"]["kernel_provisioner"]["provisioner_name"] == "kubernetes-provisioner"
    write_spec(base, "gp_k8s", gp_spec)
    # The cluster as the server's KUBECONFIG: the specs name none (EG and GP run in-cluster).
    srv = ServerProcess(base, token="k8s-compat", env={"KUBECONFIG": str(k8s_cluster.kubeconfig)})
    srv.start(timeout=90)
    try:
        yield base, srv
    finally:
        srv.stop(timeout=120)


def run_one(k8s_cluster, srv, name):
    r = start_kernel(srv, name)
    assert r.status_code == 201, r.text
    kernel_id = r.json()["id"]
    try:
        [pod] = ours(k8s_cluster, "pods", "default")
        command = pod["spec"]["containers"][0]["command"]
        assert pod["spec"]["containers"][0]["image"] == PYTHON_IMAGE
        # The image's python3 runs this package's launcher from the kernel's Secret.
        assert command[0] == "python3", command
        assert "/var/run/jupyter-remote-kernels/launch_ipykernel.py" in command, command
        assert not any("launch_kubernetes" in arg for arg in command), command
        assert ws_execute(srv, kernel_id, "print(6 * 7)", 60).strip() == "42"
    finally:
        assert srv.request("DELETE", f"/api/kernels/{kernel_id}").status_code == 204
    assert nothing_left(k8s_cluster, [kernel_id]) == NOTHING


@pytest.mark.parametrize("name", ["eg_k8s", "gp_k8s"])
def test_eg_and_gp_kubernetes_specs_start_unchanged(k8s_cluster, setup, name):
    run_one(k8s_cluster, setup[1], name)


def test_migrate_rewrites_them(k8s_cluster, setup):
    base, srv = setup
    env = dict(os.environ, JUPYTER_PATH=str(base / "data"))
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_remote_kernels.cli", "migrate", "eg_k8s", "gp_k8s"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    kernels = base / "data" / "kernels"
    eg = json.loads((kernels / "eg_k8s" / "kernel.json").read_text())
    gp = json.loads((kernels / "gp_k8s" / "kernel.json").read_text())
    assert eg["metadata"]["process_proxy"] == {
        "class_name": "k8s",
        "config": {"k8s_image": PYTHON_IMAGE},
    }
    assert gp["metadata"]["kernel_provisioner"] == {
        "provisioner_name": "jrk-k8s-provisioner",
        "config": {"k8s_image": PYTHON_IMAGE, "launch_timeout": 30},
    }
    assert eg["argv"] == [
        "python3",
        "{launcher}",
        "--RemoteProcessProxy.kernel-id",
        "{kernel_id}",
        "--RemoteProcessProxy.port-range",
        "{port_range}",
        "--RemoteProcessProxy.response-address",
        "{response_address}",
        "--ip",
        "{pod_ip}",
    ]
    assert gp["argv"][:2] == ["python3", "{launcher}"] and gp["argv"][-2:] == ["--ip", "{pod_ip}"]
    assert not any("public" in a or "encryption" in a for a in gp["argv"]), gp["argv"]
    assert (kernels / "eg_k8s" / "kernel.json.eg-backup").exists()
    run_one(k8s_cluster, srv, "eg_k8s")
    run_one(k8s_cluster, srv, "gp_k8s")
