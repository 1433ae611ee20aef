"""Warm pools and kernels of their own command (issue 23): such a kernelspec gets no pool
(its hand-out would need an IPython start-up hook), said once in the server's log and in
the pools API (``failing``, with why), while an ipykernel kernelspec's pool fills as usual;
its starts are fresh kernels."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from ..any_kernel import R, require_kernels
from ..kernels import launcher_argv, local_spec, shipped_local_spec, write_kernelspec

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_remote_kernels": True}},
        "RemoteMappingKernelManager": {"pool_size": 1, "pool_check_interval": 0.5},
    }


async def test_no_pool_for_a_kernel_of_its_own_command(
    jp_fetch, jp_kernel_dir, jp_serverapp, caplog
):
    require_kernels()
    caplog.set_level(logging.WARNING)
    write_kernelspec(jp_kernel_dir, "remote-python", shipped_local_spec())
    write_kernelspec(jp_kernel_dir, "r-local",
                     {**local_spec(launcher_argv(), kernel_argv=R.argv), "language": "R"})
    jp_serverapp.kernel_manager.pools.start()
    pools: list = []
    for _ in range(300):
        pools = json.loads((await jp_fetch("api", "remote-kernels", "pools")).body)
        if [p["ready"] for p in pools if p["kernel_name"] == "remote-python"] == [1]:
            break
        await asyncio.sleep(0.2)
    listed = sorted((p["kernel_name"], p["ready"], p["status"]) for p in pools)
    assert listed == [("r-local", 0, "failing"), ("remote-python", 1, "full")], pools
    # the pool that cannot be made says why in the pools API, not only in the log
    r_pool = next(p for p in pools if p["kernel_name"] == "r-local")
    assert "its kernel is its own command (kernel_argv R)" in r_pool["detail"], r_pool
    said = [r.getMessage() for r in caplog.records if "r-local" in r.getMessage()]
    assert len(said) == 1, said
    assert "no warm pool for it: its kernel is its own command (kernel_argv R)" in said[0]
    response = await jp_fetch("api", "kernels", method="POST",
                              body=json.dumps({"name": "r-local"}), request_timeout=120)
    model = json.loads(response.body)
    assert model["placement"]["phase"] == "ready" and not model.get("pool"), model
    await jp_fetch("api", "kernels", model["id"], method="DELETE")
