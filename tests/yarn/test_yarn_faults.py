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
import logging
import statistics
import time

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from jupyter_remote_kernels.yarn.poller import pollers_of

from ..abuse import COUNTS
from ..kernels import KernelSession, pids_mentioning, wait_until
from ..yarn_helpers import WS, app_of, install_yarn_spec, start, submitter_script

APPS = WS + "/apps"
FINAL = ("KILLED", "FINISHED", "FAILED")


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
    kernel_id, app_id = model["id"], model["placement"]["details"]["app_id"]
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
    assert fault.hits >= 3  # the polls during the launch met the errors
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
    assert fault.hits == 1
    message = json.loads(info.value.response.body)["message"]
    print(message)
    assert "submit command" in message and "500" in message and yarn_rm.url in message
    assert list(yarn_rm.cluster.apps.values()) == []
    leaked = await nothing_left(yarn_rm)
    COUNTS["leaked"] += len(leaked)
    assert not leaked


async def test_running_kernel_survives_rm_errors_and_shutdown_during_them_kills_the_app(
    yarn_rm, yarn_spec, jp_fetch, jp_ws_fetch, jp_serverapp, kernels_dir
):
    # The AM outlives its kernel (as a Spark driver with non-daemon threads would): only
    # the RM kill, through the faults below, can end the application.
    spec_file = kernels_dir / yarn_spec / "kernel.json"
    spec = json.loads(spec_file.read_text())
    at = spec["argv"].index("--") + 1
    spec["argv"][at:at] = ["/bin/sh", "-c", '"$0" "$@"; exec sleep 300']
    spec_file.write_text(json.dumps(spec))
    model = await start(jp_fetch, yarn_spec)
    kernel_id, app_id = model["id"], model["placement"]["details"]["app_id"]
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("x = 41; print(x)"))["stdout"] == "41\n"

    # ~5 s of RM trouble: 500s and hanging requests for every RM call.
    km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    rounds = pollers_of(jp_serverapp.kernel_manager.services).all()[0].rounds
    faults = [
        yarn_rm.inject_fault(status=500, count=8, path=WS + "/apps*"),
        yarn_rm.inject_fault(status=None, hang=2, count=2, path=WS + "/apps*"),
    ]
    deadline = time.monotonic() + 30
    while any(f.count > 0 for f in faults) and time.monotonic() < deadline:
        assert await km.is_alive()  # what the restarter asks
        await asyncio.sleep(0.3)
    assert pollers_of(jp_serverapp.kernel_manager.services).all()[0].rounds > rounds + 5
    assert [f.hits for f in faults] == [8, 2]  # the kernel lived through all of them
    COUNTS["faults"] += sum(f.hits for f in faults)
    models = json.loads((await jp_fetch("api", "kernels")).body)
    assert [(m["id"], m["execution_state"]) for m in models] in (
        [(kernel_id, "idle")],
        [(kernel_id, "busy")],
    )
    assert (await session.execute("x += 1; print(x)"))["stdout"] == "42\n"
    placement = json.loads((await jp_fetch("api", "remote-kernels", kernel_id)).body)
    assert placement["placement"]["phase"] == "ready"
    assert placement["placement"]["details"]["app_id"] == app_id  # not restarted
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
    # Every fault was met on the way (the kill and its confirmation went through them all)
    # and the RM's kill is what ended the application.
    assert [f.hits for f in faults] == [3, 2, 1]
    assert app_of(yarn_rm, app_id)["state"] == "KILLED"
    leaked = await nothing_left(yarn_rm, [kernel_id])
    COUNTS["leaked"] += len(leaked)
    assert not leaked


async def _local_start_seconds(jp_fetch) -> float:
    """Seconds for one local kernel (the shipped spec) to start and answer; then delete it."""
    started = time.monotonic()
    model = await start(jp_fetch, "remote-python")
    elapsed = time.monotonic() - started
    assert model["placement"]["phase"] == "ready"
    await jp_fetch("api", "kernels", model["id"], method="DELETE")
    return elapsed


@pytest.mark.timeout(600)
async def test_hung_rm_delays_only_yarn_work(
    yarn_rm,
    kernels_dir,
    tmp_path,
    jp_fetch,
    jp_serverapp,
    jp_http_port,
    jp_base_url,
    jp_auth_header,
):
    """An RM that hangs while 10 YARN kernels are deleted does not slow a local start.

    The kills wait on the RM in the YARN client's own threads; a local kernel started
    meanwhile needs threads of the event loop's default executor (kernelspec loading,
    command formatting) and must not queue behind them. Each kill's outcome is logged.
    """
    await asyncio.to_thread(
        install_yarn_spec,
        kernels_dir,
        "yarn-hang",
        yarn_rm.url,
        submitter_script(tmp_path),
        yarn_request_timeout=8,
        kill_timeout=30,
    )
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Collect(level=logging.INFO)
    jp_serverapp.log.addHandler(handler)
    old_level = jp_serverapp.log.level
    jp_serverapp.log.setLevel(logging.INFO)
    try:
        kernels = await asyncio.gather(*(start(jp_fetch, "yarn-hang") for _ in range(10)))
        app_ids = [m["placement"]["details"]["app_id"] for m in kernels]
        assert len(set(app_ids)) == 10

        # Without RM trouble: the same local start, 7 times (the first warms caches).
        await _local_start_seconds(jp_fetch)
        calm = [await _local_start_seconds(jp_fetch) for _ in range(7)]

        # Every RM request now hangs 40 s (the client gives up after 8 s and retries).
        fault = yarn_rm.inject_fault(status=None, hang=40, count=100_000, path=WS + "/*")
        # The deletes go through their own HTTP client: jp_fetch's serves 10 requests at once.
        client = AsyncHTTPClient(force_instance=True, max_clients=20)
        base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}api/kernels/"
        deletes = [
            asyncio.ensure_future(
                client.fetch(
                    base + m["id"], method="DELETE", headers=jp_auth_header, request_timeout=300
                )
            )
            for m in kernels
        ]
        assert await wait_until(lambda: fault.hits >= 1, timeout=10)  # the RM hangs
        # The kernels end on their shutdown request (the kills are what hangs): let their
        # exits, a burst of CPU, pass before measuring.
        ids = [m["id"] for m in kernels]
        assert await wait_until(lambda: not any(pids_mentioning(k) for k in ids), timeout=30)
        await asyncio.sleep(0.5)
        hung = [await _local_start_seconds(jp_fetch) for _ in range(7)]
        # The RM was still hung and no delete done while the local kernels started.
        assert not any(task.done() for task in deletes), hung
        hits = fault.hits
        yarn_rm.clear_faults()
        COUNTS["faults"] += hits

        print(
            f"local start: calm min {min(calm):.3f} median {statistics.median(calm):.3f} s "
            f"{calm}; hung min {min(hung):.3f} median {statistics.median(hung):.3f} s {hung}"
        )
        # The fastest of 7 starts: other processes on a shared machine only ever add time
        # to a sample, so the fastest is the start's own cost. An RM hang that reached the
        # local start (a starved thread pool, a blocked event loop, a shared lock) slows
        # every start, the fastest included, by seconds (each RM request hangs 8 s before
        # the client gives up): that fails here. 1.5x, not less: between the two phases the
        # fastest start alone varied up to 1.3x on two shared cores (CI, 2026-12-01).
        assert min(hung) <= 1.5 * min(calm), (calm, hung)

        responses = await asyncio.gather(*deletes)
        assert [r.code for r in responses] == [204] * 10
        client.close()
    finally:
        jp_serverapp.log.removeHandler(handler)
        jp_serverapp.log.setLevel(old_level)
    for app_id in app_ids:
        assert app_of(yarn_rm, app_id)["state"] in FINAL, app_id
        # The outcome of every kill is in the log: ended (and how), or still alive.
        outcome = [r for r in records if app_id in r and ("ended" in r or "still" in r)]
        assert outcome, (app_id, [r for r in records if app_id in r])
    leaked = await nothing_left(yarn_rm, [m["id"] for m in kernels])
    COUNTS["leaked"] += len(leaked)
    assert not leaked
