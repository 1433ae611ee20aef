"""Warm pools that cannot be made are listed with why, through a real Jupyter Server: a
kernelspec with an install-time ``@@FIELD@@`` left unfilled (refused with a 400 on a start)
and one whose kernel is its own command (``kernel_argv``) are in
``GET /api/remote-kernels/pools`` as ``failing`` with what is wrong, where and what to do,
while the server serves and fills the good kernelspec's pool."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
import tornado

from ..kernels import launcher_argv, local_spec, shipped_local_spec, write_kernelspec

pytestmark = pytest.mark.timeout(300)

TEMPLATE_K8S = "kernelspecs/k8s/kernel.json"


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_remote_kernels": True}},
        "RemoteMappingKernelManager": {"pool_check_interval": 0.5},
    }


def unfilled_k8s_spec() -> dict:
    """The shipped k8s template as if copied by hand: ``@@RESOURCES@@`` left in."""
    spec = json.loads((Path(__file__).parents[2] / TEMPLATE_K8S).read_text())
    spec["display_name"] = "Python (k8s, hand-copied)"
    spec["metadata"]["process_proxy"]["config"] = {
        "k8s_image": "python:3.11",
        "k8s_resources": "@@RESOURCES@@",
        "pool_size": 1,
    }
    return spec


async def pools_when(jp_fetch, done, tries: int = 300) -> list:
    pools: list = []
    for _ in range(tries):
        pools = json.loads((await jp_fetch("api", "remote-kernels", "pools")).body)
        if done(pools):
            break
        await asyncio.sleep(0.2)
    return pools


async def test_pools_that_cannot_be_made_are_listed_with_their_error(
    jp_fetch, jp_kernel_dir, jp_serverapp
):
    good = shipped_local_spec()
    good["metadata"]["process_proxy"]["config"] = {"pool_size": 1}
    write_kernelspec(jp_kernel_dir, "remote-python", good)
    write_kernelspec(jp_kernel_dir, "k8s-unfilled", unfilled_k8s_spec())
    ipykernel = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    own = local_spec(launcher_argv(), kernel_argv=ipykernel)
    own["metadata"]["process_proxy"]["config"]["pool_size"] = 2
    write_kernelspec(jp_kernel_dir, "own-command", own)
    jp_serverapp.kernel_manager.pools.start()

    def settled(pools):
        by_name = {p["kernel_name"]: p for p in pools}
        return len(by_name) == 3 and by_name["remote-python"]["ready"] == 1

    pools = await pools_when(jp_fetch, settled)
    by_name = {p["kernel_name"]: p for p in pools}
    assert sorted(by_name) == ["k8s-unfilled", "own-command", "remote-python"], pools
    assert by_name["remote-python"]["status"] == "full"

    bad = by_name["k8s-unfilled"]
    assert (bad["status"], bad["target"], bad["ready"], bad["launching"]) == (
        "failing", 1, 0, 0), bad
    assert bad["display_name"] == "Python (k8s, hand-copied)"
    detail = bad["detail"]
    assert "'metadata.process_proxy.config.k8s_resources'" in detail, detail  # what
    assert str(jp_kernel_dir / "k8s-unfilled" / "kernel.json") in detail, detail  # where
    assert "@@RESOURCES@@" in detail and "jupyter remote-kernels install" in detail, detail

    argv = by_name["own-command"]
    assert (argv["status"], argv["target"], argv["ready"]) == ("failing", 2, 0), argv
    assert "its kernel is its own command" in argv["detail"], argv
    assert "remove pool_size" in argv["detail"], argv

    # a start of the bad kernelspec is refused clearly, and the server keeps serving
    with pytest.raises(tornado.httpclient.HTTPClientError) as err:
        await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "k8s-unfilled"}))
    assert err.value.code == 400
    pools = json.loads((await jp_fetch("api", "remote-kernels", "pools")).body)
    assert {p["kernel_name"]: p["status"] for p in pools}["k8s-unfilled"] == "failing"

    # fixed on disk: the error goes (the pool would now fill; no cluster here to fill it)
    fixed = unfilled_k8s_spec()
    fixed["metadata"]["process_proxy"]["config"]["k8s_resources"] = {}
    write_kernelspec(jp_kernel_dir, "k8s-unfilled", fixed)
    pools = await pools_when(
        jp_fetch,
        lambda ps: "@@" not in json.dumps([p for p in ps if p["kernel_name"] == "k8s-unfilled"]),
    )
    assert "@@RESOURCES@@" not in json.dumps(pools), pools
