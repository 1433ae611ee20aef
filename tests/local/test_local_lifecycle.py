"""A notebook's life on the default kernel, through a real Jupyter Server's REST + websocket API."""

from __future__ import annotations

import asyncio
import json
import os
import signal

from ..kernels import KernelSession, pids_mentioning, wait_until


async def start(jp_fetch, name="remote-python", path="/api/kernels", **body):
    response = await jp_fetch(
        *path.strip("/").split("/"), method="POST", body=json.dumps({"name": name, **body})
    )
    return json.loads(response.body)


async def test_execute_interrupt_restart_shutdown(jp_fetch, jp_ws_fetch, kernels_dir, no_blocking):
    model = await start(jp_fetch)
    kernel_id = model["id"]
    assert model["placement"]["kind"] == "local"
    assert model["placement"]["phase"] == "ready"
    kernel_pid = model["placement"]["pid"]
    assert len(pids_mentioning(kernel_id)) == 2  # the launcher and the kernel

    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute("x = 6 * 7; print(x)")
    assert reply["status"] == "ok"
    assert reply["stdout"] == "42\n"

    msg_id = await session.send_execute("import time; time.sleep(60)")
    await session.wait_started(msg_id)
    await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
    reply = await session.wait_reply(msg_id, timeout=20)
    assert reply["status"] == "error"
    assert reply["ename"] == "KeyboardInterrupt"
    assert (await session.execute("print(x)"))["stdout"] == "42\n"

    await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
    assert await wait_until(lambda: kernel_pid not in pids_mentioning(kernel_id))
    session.close()
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute("print('x' in dir())")
    assert reply["stdout"] == "False\n"
    session.close()

    response = await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert response.code == 204
    assert await wait_until(lambda: not pids_mentioning(kernel_id), timeout=5)


async def test_kernel_that_died_is_restarted_and_a_new_notebook_tab_talks_to_it(
    jp_fetch, jp_ws_fetch, kernels_dir
):
    """The kernel dies (its process killed); Jupyter's restarter starts it again on new
    ports; a websocket opened afterwards (the notebook reloaded) gets answers.

    Jupyter Server follows new ports itself only for a REST restart: without the manager
    watching the restarted kernel again, the new websocket waited for a state that never
    came and was closed after a minute.
    """
    model = await start(jp_fetch)
    kernel_id, kernel_pid = model["id"], model["placement"]["pid"]
    os.kill(kernel_pid, signal.SIGKILL)

    async def restarted() -> bool:
        response = await jp_fetch("api", "remote-kernels", kernel_id, method="GET")
        placement = json.loads(response.body)["placement"]
        return placement["phase"] == "ready" and placement["pid"] != kernel_pid

    deadline = asyncio.get_running_loop().time() + 60
    while not await restarted():
        assert asyncio.get_running_loop().time() < deadline, "not restarted"
        await asyncio.sleep(0.3)
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute("print(6 * 7)", timeout=30)
    assert reply["stdout"] == "42\n"
    session.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert await wait_until(lambda: not pids_mentioning(kernel_id), timeout=5)


async def test_a_restart_during_a_cell_leaves_the_kernel_idle_not_busy(
    jp_fetch, jp_ws_fetch, kernels_dir
):
    """The old process's "busy" (its "idle" never came) is not the restarted kernel's state.

    Jupyter Server does not nudge a busy kernel's new websockets: a stale "busy" showed the
    kernel busy for good, and a new tab's first cell lost its output and "idle" whenever
    its iopub subscription came after them (the legacy-launcher test under load).
    """
    kernel_id = (await start(jp_fetch))["id"]
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    msg_id = await session.send_execute("import time; time.sleep(60)")
    await session.wait_started(msg_id)
    session.close()
    await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")

    async def state():
        response = await jp_fetch("api", "kernels", kernel_id, method="GET")
        return json.loads(response.body)["execution_state"]

    deadline = asyncio.get_running_loop().time() + 15
    while await state() != "idle" and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
    assert await state() == "idle"
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("print('after')", timeout=30))["stdout"] == "after\n"
    session.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert await wait_until(lambda: not pids_mentioning(kernel_id), 10)
