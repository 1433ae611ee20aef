"""YARN kernels through a real Jupyter Server and the RM emulator (real AM processes): a
kernel's lifecycle, queued and failing launches, discovery, a server stop (HA, many kernels,
Kerberos, kernel values, HTTPS: test_yarn_provisioner_rm.py)."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import threading
import time

import pytest
from tornado.httpclient import HTTPClientError

from ..kernels import KernelSession, pids_mentioning, wait_until
from ..server_process import ServerProcess
from ..yarn_helpers import (
    WS,
    app_of,
    install_yarn_spec,
    placement_of,
    start,
    submitter_script,
)


async def test_lifecycle(yarn_rm, jp_fetch, jp_ws_fetch, kernels_dir, tmp_path, no_blocking):
    await asyncio.to_thread(
        install_yarn_spec, kernels_dir, "yarn-py", yarn_rm.url, submitter_script(tmp_path)
    )
    model = await start(jp_fetch, "yarn-py")
    kernel_id = model["id"]
    placement = model["placement"]
    print(placement)
    assert placement["kind"] == "yarn"
    assert placement["phase"] == "ready"
    app_id = placement["details"]["app_id"]
    assert app_id and placement["details"]["queue"] == "root.default", placement
    assert placement["ip"] == "127.0.0.1", placement
    assert app_of(yarn_rm, app_id)["state"] == "RUNNING"

    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute("import os; print(os.environ['CONTAINER_ID'])")
    assert reply["status"] == "ok", reply
    assert app_id.replace("application", "container") in reply["stdout"]

    t0 = time.monotonic()
    response = await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    print("delete", time.monotonic() - t0)
    assert response.code == 204
    assert app_of(yarn_rm, app_id)["state"] == "KILLED"
    assert await wait_until(lambda: not pids_mentioning(kernel_id), timeout=5)
    assert yarn_rm.cluster.live_pids() == []


async def test_restart_and_interrupt(yarn_rm, jp_fetch, jp_ws_fetch, kernels_dir, tmp_path):
    await asyncio.to_thread(
        install_yarn_spec, kernels_dir, "yarn-py", yarn_rm.url, submitter_script(tmp_path)
    )
    model = await start(jp_fetch, "yarn-py")
    kernel_id, first_app = model["id"], model["placement"]["details"]["app_id"]
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("x = 6 * 7; print(x)"))["stdout"] == "42\n"
    msg_id = await session.send_execute("import time; time.sleep(60)")
    await session.wait_started(msg_id)
    await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
    reply = await session.wait_reply(msg_id, timeout=20)
    assert reply["ename"] == "KeyboardInterrupt"
    session.close()

    t0 = time.monotonic()
    await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
    print("restart took", time.monotonic() - t0)
    assert app_of(yarn_rm, first_app)["state"] == "KILLED"
    model = json.loads((await jp_fetch("api", "kernels", kernel_id, method="GET")).body)
    second_app = model["placement"]["details"]["app_id"]
    assert second_app != first_app
    assert model["placement"]["phase"] == "ready"
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("print('x' in dir())"))["stdout"] == "False\n"
    session.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert app_of(yarn_rm, second_app)["state"] == "KILLED"
    assert await wait_until(lambda: not pids_mentioning(kernel_id), timeout=5)


async def test_queue_full_is_reported_and_killed(yarn_rm_factory, jp_fetch, kernels_dir, tmp_path):
    rm = yarn_rm_factory(queues={"default": None, "small": 0})
    await asyncio.to_thread(
        install_yarn_spec,
        kernels_dir,
        "yarn-small",
        rm.url,
        submitter_script(tmp_path),
        yarn_queue="small",
        launch_timeout=4,
    )
    task = asyncio.ensure_future(start(jp_fetch, "yarn-small"))
    seen = []
    while not task.done():
        seen += [m["placement"] for m in await placement_of(jp_fetch)]
        await asyncio.sleep(0.2)
    queued = [p for p in seen if p["phase"] == "pending"]
    assert queued, seen
    assert "AM resource limit" in queued[-1]["detail"]
    assert queued[-1]["details"]["queue"] == "root.small" and queued[-1]["state"] == "ACCEPTED"
    with pytest.raises(HTTPClientError) as info:
        await task
    assert info.value.code == 504
    message = json.loads(info.value.response.body)["message"]
    print(message)
    assert "queue 'root.small'" in message and "queue is full" in message
    assert "Traceback" not in message
    app_id = queued[-1]["details"]["app_id"]
    assert app_of(rm, app_id)["state"] == "KILLED"
    assert rm.cluster.live_pids() == []
    assert await placement_of(jp_fetch) == []


async def test_am_failing_at_start(yarn_rm, jp_fetch, kernels_dir, tmp_path):
    """An AM that exits at once: clear error with YARN's diagnostics, one attempt only.

    (With more attempts allowed YARN retries by itself before any poll can see the first
    failure; the provisioner never resubmits.)"""
    spec = await asyncio.to_thread(
        install_yarn_spec, kernels_dir, "yarn-bad", yarn_rm.url, submitter_script(tmp_path)
    )
    argv = spec["argv"]
    assert argv[argv.index("--max-app-attempts") + 1] == "1"  # the template's: no YARN retry
    argv[argv.index("--") + 1] = "/bin/false"
    (kernels_dir / "yarn-bad" / "kernel.json").write_text(json.dumps(spec))
    yarn_rm.reset_counts()
    with pytest.raises(HTTPClientError) as info:
        await start(jp_fetch, "yarn-bad")
    assert info.value.code == 500
    message = json.loads(info.value.response.body)["message"]
    print(message)
    assert "AM exit code 1" in message and "YARN diagnostics" in message
    app_id = re.search(r"application_\d+_\d+", message).group(0)
    app = yarn_rm.app(app_id)
    assert len(app.attempts) == 1
    assert app.state in ("KILLED", "FAILED")
    assert yarn_rm.cluster.live_pids() == []
    assert yarn_rm.count("POST", WS + "/apps") == 1  # no resubmission


async def test_discovery_by_tag_ignores_names_and_string_order(
    yarn_rm_factory, jp_fetch, kernels_dir, tmp_path
):
    """Decoys named after the kernel, a renamed real app, ids crossing 9999."""
    rm = yarn_rm_factory(start_seq=9998, app_order="random")
    decoy = (
        f'{sys.executable} -m testing.yarn_emulator.submit --rm "$2" --name "$KERNEL_ID" '
        "--tag other -- sleep 60 >/dev/null\n"
    )
    script = submitter_script(tmp_path, decoy)
    spec = await asyncio.to_thread(install_yarn_spec, kernels_dir, "yarn-tag", rm.url, script)
    argv = spec["argv"]
    argv[argv.index("--name") + 1] = "renamed-by-user"
    (kernels_dir / "yarn-tag" / "kernel.json").write_text(json.dumps(spec))
    model = await start(jp_fetch, "yarn-tag")
    kernel_id, app_id = model["id"], model["placement"]["details"]["app_id"]
    assert app_id.endswith("_10000") or app_id.endswith("_9999")
    app = app_of(rm, app_id)
    assert kernel_id in app["applicationTags"].split(",")
    assert app["name"] == "renamed-by-user"
    decoys = [a for a in rm.cluster.apps.values() if a.name == kernel_id]
    assert len(decoys) == 1 and decoys[0].app_id != app_id
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert app_of(rm, app_id)["state"] == "KILLED"
    assert app_of(rm, decoys[0].app_id)["state"] == "RUNNING"  # not ours: left alone



def test_server_stop_kills_a_queued_application(yarn_rm_factory, tmp_path):
    """A launch still ACCEPTED when the server stops: its application is killed (EG #719)."""

    rm = yarn_rm_factory(queues={"default": 0})
    server = ServerProcess(tmp_path)
    install_yarn_spec(
        tmp_path / "data" / "kernels",
        "yarn-q",
        rm.url,
        submitter_script(tmp_path),
        launch_timeout=120,
    )
    server.start()
    try:
        start_thread = threading.Thread(
            target=lambda: server.request("POST", "/api/kernels", {"name": "yarn-q"}),
            daemon=True,
        )
        start_thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            apps = [a for a in rm.cluster.apps.values() if a.state == "ACCEPTED"]
            models = server.request("GET", "/api/remote-kernels").json()
            if apps and models and models[0]["placement"]["phase"] == "pending":
                break
            time.sleep(0.2)
        assert apps and models[0]["placement"]["phase"] == "pending", models
        server.stop()
        start_thread.join(10)
    finally:
        server.stop()
    assert [a.state for a in rm.cluster.apps.values()] == ["KILLED"]
    assert rm.cluster.live_pids() == []


