"""Pools never block the event loop: filling, a hand-out, refilling and the server's stop, in
a server inside the test process with blocking calls from this package's code failing
(blockbuster). (A start with a notebook path is left out: Jupyter Server's own
``cwd_for_path`` looks at the disk on the event loop, inside our start.)"""

from __future__ import annotations

import asyncio
import json

import pytest

from testing.specs import pids_mentioning, shipped_local_spec, write_kernelspec

from ..kernels import KernelSession, wait_until

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_remote_kernels": True}},
        "RemoteMappingKernelManager": {"pool_size": 1, "pool_check_interval": 0.5},
    }


async def pool(jp_fetch) -> dict:
    models = json.loads((await jp_fetch("api", "remote-kernels", "pools")).body)
    return models[0] if models else {}


async def test_pool_work_does_not_block_the_event_loop(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, jp_serverapp, no_blocking
):
    write_kernelspec(jp_kernel_dir, "remote-python", shipped_local_spec())
    jp_serverapp.kernel_manager.pools.start()  # (the extension starts them with the server)
    full = False
    for _ in range(300):
        full = (await pool(jp_fetch)).get("ready") == 1
        if full:
            break
        await asyncio.sleep(0.2)
    assert full, await pool(jp_fetch)
    listing = json.loads((await jp_fetch("api", "remote-kernels")).body)
    warm = {m["kernel_id"] for m in listing if m.get("pool")}
    body = {"name": "remote-python", "env": {"KERNEL_PROJECT": "p1"}}
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps(body))
    kernel_id = json.loads(response.body)["id"]
    assert kernel_id in warm
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute("import os; print(os.environ['KERNEL_PROJECT'])")
    session.close()
    assert reply["stdout"].strip() == "p1"
    for _ in range(150):  # the refill (a launch of the pool's) runs under the guard too
        if (await pool(jp_fetch)).get("ready") == 1:
            break
        await asyncio.sleep(0.2)
    listing = json.loads((await jp_fetch("api", "remote-kernels")).body)
    warm |= {m["kernel_id"] for m in listing if m.get("pool")}
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert await wait_until(lambda: not pids_mentioning(kernel_id))
    await jp_serverapp.kernel_manager.abandon_launches()  # the server's stop of the pools
    assert await wait_until(lambda: not any(pids_mentioning(k) for k in warm), 20)
