"""The YARN ResourceManager answering 500s and timing out, through a real Jupyter Server.

Faults are injected into the RM emulator (``rm.inject_fault``): a launch during RM errors
either succeeds after the poller's retries or fails, within its launch timeout, with an error
naming the RM and what to do; a running kernel survives RM errors (its poll keeps the last
known state); a shutdown during RM errors still ends with the application KILLED. Every test
checks the emulator's live AM processes afterwards, not the manager's bookkeeping.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from tornado.httpclient import HTTPClientError

from .abuse import COUNTS
from .kernels import KernelSession, pids_mentioning, wait_until
from .test_yarn_provisioner import WS, app_of, install_yarn_spec, start, submitter_script

APPS = WS + "/apps"


@pytest.fixture
def yarn_spec(yarn_rm, kernels_dir, tmp_path):
    """A YARN kernelspec whose RM requests time out after 1 s."""
    install_yarn_spec(
        kernels_dir,
        "yarn-faulty",
        yarn_rm.url,
        submitter_script(tmp_path),
        yarn_request_timeout=1,
        launch_timeout=20,
        kill_timeout=20,
    )
    return "yarn-faulty"


async def nothing_left(rm, kernel_ids=()) -> list:
    """AM process groups still alive and processes of the kernels, after a short wait."""
    await wait_until(
        lambda: not rm.cluster.live_pids() and not any(pids_mentioning(k) for k in kernel_ids),
        10,
    )
    return rm.cluster.live_pids() + [p for k in kernel_ids for p in pids_mentioning(k)]


async def test_launch_succeeds_after_rm_errors_and_timeouts(
    yarn_rm, yarn_spec, jp_fetch, jp_ws_fetch
):
    # The poller's GET /apps fails: 500s, then requests that hang past the request timeout.
    faults = [
        yarn_rm.inject_fault(status=500, count=4, path=APPS, method="GET"),
        yarn_rm.inject_fault(status=None, hang=2.5, count=2, path=APPS, method="GET"),
        yarn_rm.inject_fault(status=502, count=2, path=APPS, method="GET"),
    ]
    started = time.monotonic()
    model = await start(jp_fetch, yarn_spec)
    elapsed = time.monotonic() - started
    COUNTS["faults"] += sum(f.hits for f in faults)
    assert all(f.hits for f in faults), [f.hits for f in faults]
    assert elapsed < 20
    kernel_id, app_id = model["id"], model["placement"]["app_id"]
    assert model["placement"]["phase"] == "ready"
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("print(6 * 7)"))["stdout"] == "42\n"
    session.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert app_of(yarn_rm, app_id)["state"] == "KILLED"
    leaked = await nothing_left(yarn_rm, [kernel_id])
    COUNTS["leaked"] += len(leaked)
    assert not leaked


async def test_launch_during_lasting_rm_errors_fails_clearly_and_kills_the_app(
    yarn_rm, kernels_dir, tmp_path, jp_fetch
):
    await asyncio.to_thread(
        install_yarn_spec,
        kernels_dir,
        "yarn-down",
        yarn_rm.url,
        submitter_script(tmp_path),
        yarn_request_timeout=1,
        launch_timeout=5,
        kill_timeout=20,
    )
    # The submission goes through, but the RM answers every GET /apps with a 500 for ~8 s:
    # longer than the launch timeout, shorter than the kill timeout.
    fault = yarn_rm.inject_fault(status=500, count=25, path=APPS, method="GET")
    started = time.monotonic()
    with pytest.raises(HTTPClientError) as info:
        await start(jp_fetch, "yarn-down")
    COUNTS["faults"] += fault.hits
    message = json.loads(info.value.response.body)["message"]
    print(message)
    assert time.monotonic() - started < 5 + 20 + 5
    assert info.value.code in (500, 503, 504)
    assert yarn_rm.url in message and "HTTP 500" in message
    assert "retry" in message.lower() or "try again" in message.lower()
    assert "Traceback" not in message
    apps = list(yarn_rm.cluster.apps.values())
    assert len(apps) == 1 and apps[0].state == "KILLED"  # submitted, then killed
    leaked = await nothing_left(yarn_rm)
    COUNTS["leaked"] += len(leaked)
    assert not leaked
    assert json.loads((await jp_fetch("api", "kernels")).body) == []


async def test_submit_refused_by_the_rm_fails_clearly(yarn_rm, yarn_spec, jp_fetch):
    fault = yarn_rm.inject_fault(status=500, count=1, path=APPS + "/new-application")
    with pytest.raises(HTTPClientError) as info:
        await start(jp_fetch, yarn_spec)
    COUNTS["faults"] += fault.hits
    message = json.loads(info.value.response.body)["message"]
    print(message)
    assert "submit command" in message and "500" in message and yarn_rm.url in message
    assert list(yarn_rm.cluster.apps.values()) == []
    leaked = await nothing_left(yarn_rm)
    COUNTS["leaked"] += len(leaked)
    assert not leaked


async def test_running_kernel_survives_rm_errors_and_shutdown_during_them_kills_the_app(
    yarn_rm, yarn_spec, jp_fetch, jp_ws_fetch, jp_serverapp
):
    model = await start(jp_fetch, yarn_spec)
    kernel_id, app_id = model["id"], model["placement"]["app_id"]
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("x = 41; print(x)"))["stdout"] == "41\n"

    # ~5 s of RM trouble: 500s and hanging requests for every RM call.
    km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    rounds = jp_serverapp.kernel_manager.yarn_pollers.all()[0].rounds
    faults = [
        yarn_rm.inject_fault(status=500, count=8, path=WS + "/apps*"),
        yarn_rm.inject_fault(status=None, hang=2, count=2, path=WS + "/apps*"),
    ]
    deadline = time.monotonic() + 30
    while any(f.count > 0 for f in faults) and time.monotonic() < deadline:
        assert await km.is_alive()  # what the restarter asks
        await asyncio.sleep(0.3)
    assert jp_serverapp.kernel_manager.yarn_pollers.all()[0].rounds > rounds + 5
    COUNTS["faults"] += sum(f.hits for f in faults)
    models = json.loads((await jp_fetch("api", "kernels")).body)
    assert [(m["id"], m["execution_state"]) for m in models] in (
        [(kernel_id, "idle")],
        [(kernel_id, "busy")],
    )
    assert (await session.execute("x += 1; print(x)"))["stdout"] == "42\n"
    placement = json.loads((await jp_fetch("api", "remote-kernels", kernel_id)).body)
    assert placement["placement"]["phase"] == "ready"
    assert placement["placement"]["app_id"] == app_id  # not restarted
    session.close()

    # Shutdown while the RM fails the kill and the state checks a few times.
    faults = [
        yarn_rm.inject_fault(status=500, count=3, path=APPS + "/*/state", method="PUT"),
        yarn_rm.inject_fault(status=503, count=2, path=APPS + "/*/state", method="GET"),
        yarn_rm.inject_fault(status=None, hang=2, count=1, path=APPS + "/*/state"),
    ]
    response = await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    COUNTS["faults"] += sum(f.hits for f in faults)
    assert response.code == 204
    # KILLED, or FINISHED when the kernel's own shutdown ended the AM before a kill got
    # through the failing RM: either way YARN has it in a final state.
    assert app_of(yarn_rm, app_id)["state"] in ("KILLED", "FINISHED")
    leaked = await nothing_left(yarn_rm, [kernel_id])
    COUNTS["leaked"] += len(leaked)
    assert not leaked
