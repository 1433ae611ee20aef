"""The REST API: /api/remote-kernels, /api/sessions, launching kernels, auth, the loop guard."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_remote_kernels.local import LocalLauncherProvisioner

from ..kernels import KernelSession, pids_mentioning, slow_start_spec, wait_until, write_kernelspec


async def test_remote_kernels_api_needs_auth_and_lists_placement(jp_fetch, kernels_dir):
    for path in (("api", "remote-kernels"), ("api", "remote-kernels", "0" * 8 + "-1-2-3-4")):
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch(*path, headers={"Authorization": "token wrong"})
        assert info.value.code in (401, 403)
    response = await jp_fetch(
        "api", "kernels", method="POST", body=json.dumps({"name": "remote-python"})
    )
    kernel_id = json.loads(response.body)["id"]
    listing = json.loads((await jp_fetch("api", "remote-kernels")).body)
    assert [m["kernel_id"] for m in listing] == [kernel_id]
    one = json.loads((await jp_fetch("api", "remote-kernels", kernel_id)).body)
    assert one == listing[0]
    placement = one["placement"]
    assert placement["provisioner"] == "jrk-local-provisioner"
    assert placement["kind"] == "local"
    assert placement["phase"] == "ready"
    assert placement["host"]
    assert placement["pid"] in pids_mentioning(kernel_id)
    kernels = json.loads((await jp_fetch("api", "kernels")).body)
    assert kernels[0]["placement"] == placement
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("api", "remote-kernels", "00000000-0000-0000-0000-000000000000")
    assert info.value.code == 404
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert json.loads((await jp_fetch("api", "remote-kernels")).body) == []


async def test_sessions_api_starts_a_remote_kernel(jp_fetch, jp_ws_fetch, kernels_dir):
    body = {
        "path": "nb.ipynb",
        "type": "notebook",
        "name": "nb.ipynb",
        "kernel": {"name": "remote-python"},
    }
    response = await jp_fetch("api", "sessions", method="POST", body=json.dumps(body))
    assert response.code == 201
    model = json.loads(response.body)
    kernel_id = model["kernel"]["id"]
    assert model["kernel"]["placement"]["kind"] == "local"
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute("import os; print(os.environ['JPY_SESSION_NAME'])")
    assert reply["stdout"].strip().endswith("nb.ipynb")
    session.close()
    await jp_fetch("api", "sessions", model["id"], method="DELETE")
    assert await wait_until(lambda: not pids_mentioning(kernel_id))


async def test_launching_kernel_is_listed_with_its_phase(jp_fetch, jp_kernel_dir):
    write_kernelspec(jp_kernel_dir, "slow-start", slow_start_spec(3))
    start = asyncio.ensure_future(
        jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "slow-start"}))
    )
    seen = []
    deadline = time.monotonic() + 10
    while not start.done() and time.monotonic() < deadline:
        listing = json.loads((await jp_fetch("api", "remote-kernels")).body)
        seen.extend(m["placement"]["phase"] for m in listing)
        await asyncio.sleep(0.2)
    model = json.loads((await start).body)
    assert "waiting-for-launcher" in seen
    assert model["placement"]["phase"] == "ready"
    await jp_fetch("api", "kernels", model["id"], method="DELETE")


async def test_launch_does_not_block_the_event_loop(jp_fetch, kernels_dir, no_blocking):
    response = await jp_fetch(
        "api", "kernels", method="POST", body=json.dumps({"name": "remote-python"})
    )
    kernel_id = json.loads(response.body)["id"]
    await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
    await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")


async def test_loop_guard_catches_a_blocking_launch(
    jp_fetch, kernels_dir, no_blocking, monkeypatch
):
    original = LocalLauncherProvisioner.start_launcher

    async def blocking_start(self, *args, **kwargs):
        time.sleep(0.01)  # what a synchronous SSH or REST call would do
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(LocalLauncherProvisioner, "start_launcher", blocking_start)
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "remote-python"}))
    assert "Blocking call to time.sleep" in json.loads(info.value.response.body)["message"]
