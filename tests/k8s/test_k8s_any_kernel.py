"""An IRkernel kernel in a pod of the real Kubernetes test cluster (issue 23), through the
test's own Jupyter Server: the launcher shipped in the pod's Secret starts R instead of
ipykernel, in the test bed's R image (the Python image plus Debian's r-base-core and
r-cran-irkernel, :mod:`testing.k8scluster.rimage`).

The kernelspec is the one ``install k8s --kernel-argv ... --language R`` writes, checked by
``check NAME`` first (the test pod finds R in the image; in the Python image it does not).
What is left is read from the API (pods and Secrets with the kernel's label) and the host's
process table (the node's containers are processes of this machine: the launcher and R both
name the kernel id).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys

import pytest

from testing.k8scluster import PYTHON_IMAGE, R_IMAGE
from testing.specs import pids_mentioning

from ..any_kernel import R, lifecycle
from ..k8s_helpers import LAUNCH_TIMEOUT, kernel_objects, nothing_left

NOTHING = {"pods": [], "secrets": [], "processes": []}

pytestmark = pytest.mark.timeout(600)


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jupyter_remote_kernels.cli", *args],
                          capture_output=True, check=False, text=True, env=env, timeout=300)


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


async def test_irkernel_in_a_pod(jp_fetch, jp_ws_fetch, jp_kernel_dir, k8s_cluster, tmp_path):
    prefix = tmp_path / "prefix"
    env = dict(os.environ, JUPYTER_PATH=str(prefix / "share" / "jupyter"),
               PATH=f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}")
    done = await asyncio.to_thread(
        cli, "install", "k8s", "--name", "r-k8s", "--prefix", str(prefix), "--image", R_IMAGE,
        "--namespace", "default", "--kubeconfig", str(k8s_cluster.kubeconfig),
        "--launch-timeout", str(LAUNCH_TIMEOUT), "--language", "R",
        "--kernel-argv", json.dumps(R.argv), env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    folder = prefix / "share" / "jupyter" / "kernels" / "r-k8s"
    spec = json.loads((folder / "kernel.json").read_text())
    assert spec["language"] == "R" and spec["display_name"] == "R (Kubernetes, default)", spec
    config = spec["metadata"]["process_proxy"]["config"]
    assert config["kernel_argv"] == R.argv and config["k8s_image"] == R_IMAGE, config
    config["k8s_image_pull_policy"] = "Never"  # built here, never pulled
    (folder / "kernel.json").write_text(json.dumps(spec))

    checked = await asyncio.to_thread(cli, "check", "r-k8s", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"in {R_IMAGE} on {k8s_cluster.node_name}" in checked.stdout, checked.stdout
    assert "ok   kernel     R /usr/bin/R" in checked.stdout, checked.stdout
    shutil.copytree(folder, jp_kernel_dir / "r-k8s")
    # The same kernel in the Python image, which has no R: check says so.
    spec["metadata"]["process_proxy"]["config"]["k8s_image"] = PYTHON_IMAGE
    (folder.parent / "r-noR").mkdir()
    (folder.parent / "r-noR" / "kernel.json").write_text(json.dumps(spec))
    checked = await asyncio.to_thread(cli, "check", "r-noR", env=env)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert f"FAIL kernel     R is not found in image {PYTHON_IMAGE}" in checked.stdout, \
        checked.stdout

    pods_seen: list[list[str]] = []  # the kernel's pods in the API, at each look

    def processes(kernel_id: str) -> list[tuple[int, str]]:
        """The node's processes of the kernel (launcher, R) and its pods and Secrets."""
        objects = kernel_objects(k8s_cluster, kernel_id)
        pods = sorted(p["metadata"]["name"] for p in objects["pods"])
        pods_seen.append(pods)
        found = [(pid, _cmdline(pid)) for pid in pids_mentioning(kernel_id)]
        return found + [(0, f"{kind} {item['metadata']['name']}")
                        for kind, items in objects.items() for item in items]  # fmt: skip

    model = await lifecycle(jp_fetch, jp_ws_fetch, "r-k8s", R, processes,
                            timeout=LAUNCH_TIMEOUT + 60, gone_within=30)  # fmt: skip
    placement = model["placement"]
    assert placement["kind"] == "k8s" and placement["host"] == k8s_cluster.node_name, placement
    first_pod = placement["details"]["pod"]
    assert [first_pod] in pods_seen, pods_seen  # R ran in it
    # The restart made a new pod, and then the API showed it alone (the old one was gone).
    after = [pods for pods in pods_seen if pods and first_pod not in pods]
    assert after and all(len(pods) == 1 for pods in after), pods_seen
    assert nothing_left(k8s_cluster, [model["id"]], timeout=0) == NOTHING
