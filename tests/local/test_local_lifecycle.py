"""A notebook's life on the default kernel, through a real Jupyter Server's REST + websocket API."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

from ..kernels import (
    KernelSession,
    launcher_argv,
    local_spec,
    pids_mentioning,
    wait_until,
    write_kernelspec,
)

REPO = Path(__file__).resolve().parents[2]


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


async def test_a_kernel_killed_during_a_cell_is_idle_after_its_restart_not_busy(
    jp_fetch, jp_ws_fetch, jp_kernel_dir
):
    """The old process's "busy" (its "idle" never came) is not the restarted kernel's state.

    A kernel killed in the middle of a cell (the OOM killer; a legacy launcher's kernel is
    SIGTERMed on every restart) left "busy". Only the new kernel's "starting" status reset
    it, and the server misses that one whenever its iopub subscription comes late (under
    load; a legacy launcher calls back before its kernel listens): the kernel then showed
    busy for good, and Jupyter Server does not nudge a busy kernel's new websockets, so a
    new tab's first cell lost its output and "idle" (the legacy-launcher test under load).
    The kernel class here is one whose "starting" the server never sees.
    """
    argv = launcher_argv("--kernel-class-name", "tests.late_iopub.NoStartingStatusKernel")
    spec = dict(local_spec(argv), env={"PYTHONPATH": str(REPO)})
    write_kernelspec(jp_kernel_dir, "late-iopub", spec)
    model = await start(jp_fetch, "late-iopub")
    kernel_id, kernel_pid = model["id"], model["placement"]["pid"]
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    msg_id = await session.send_execute("import time; time.sleep(60)")
    await session.wait_started(msg_id)
    session.close()
    os.kill(kernel_pid, signal.SIGKILL)

    async def model_now() -> dict:
        return json.loads((await jp_fetch("api", "kernels", kernel_id, method="GET")).body)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while (await model_now())["placement"]["pid"] == kernel_pid and loop.time() < deadline:
        await asyncio.sleep(0.3)
    while (await model_now())["execution_state"] != "idle" and loop.time() < deadline:
        await asyncio.sleep(0.3)
    now = await model_now()
    assert now["placement"]["pid"] != kernel_pid, "not restarted"
    assert now["execution_state"] == "idle"
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("print('after')", timeout=30))["stdout"] == "after\n"
    session.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert await wait_until(lambda: not pids_mentioning(kernel_id), 10)
