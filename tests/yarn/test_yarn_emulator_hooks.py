"""Tests of the YARN RM emulator: real HTTP, real AM processes. Its test hooks (request
counts, faults), its stop, a standalone subprocess RM, the containers it launches."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from testing.yarn_emulator import YarnRM

from ..yarn_helpers import (
    REPO,
    WS,
    app_info,
    gone,
    group_gone,
    rest_submit,
    run_submit,
    wait_for,
    wait_state,
)

pytest_plugins = ["tests.conftest_yarn"]


# --------------------------------------------------------------------------- test hooks
def test_request_counter_and_faults(yarn_rm):
    url = f"{yarn_rm.url}{WS}/apps"
    yarn_rm.reset_counts()
    for _ in range(3):
        requests.get(url, params={"states": "RUNNING"}, timeout=5)
    requests.get(f"{yarn_rm.url}{WS}/info", timeout=5)
    assert yarn_rm.count("GET", f"{WS}/apps") == 3
    assert yarn_rm.count() == 4
    assert yarn_rm.request_log[0].query == {"states": ["RUNNING"]}

    yarn_rm.inject_fault(status=500, count=2, path=f"{WS}/apps")
    assert requests.get(f"{yarn_rm.url}{WS}/info", timeout=5).status_code == 200
    r1, r2, r3 = (requests.get(url, timeout=5) for _ in range(3))
    assert (r1.status_code, r2.status_code, r3.status_code) == (500, 500, 200)
    assert "RemoteException" in r1.json()

    yarn_rm.inject_fault(status=None, hang=0.5, path=f"{WS}/apps*", method="GET")
    t0 = time.monotonic()
    assert requests.get(url, timeout=5).status_code == 200
    assert time.monotonic() - t0 >= 0.5
    yarn_rm.inject_fault(status=None, hang=30, path=f"{WS}/metrics")
    with pytest.raises(requests.Timeout):
        requests.get(f"{yarn_rm.url}{WS}/metrics", timeout=0.3)
    yarn_rm.reset_counts()
    assert yarn_rm.count() == 0


def test_stop_leaves_no_process_or_thread(tmp_path):
    rm = YarnRM(work_dir=str(tmp_path / "w"), kill_grace=1.0).start()
    child_file = tmp_path / "child.pid"
    try:
        stubborn = rest_submit(
            rm, f"sleep 300 & echo $! > {child_file}; trap '' TERM; sleep 300; wait"
        )
        pending = rest_submit(rm, "sleep 300")
        wait_state(rm, stubborn, "RUNNING")
        wait_state(rm, pending, "RUNNING")
        # an open keep-alive connection and a hanging request must not block stop()
        session = requests.Session()
        session.get(f"{rm.url}{WS}/info", timeout=5)
        rm.inject_fault(status=None, hang=60, path=f"{WS}/metrics")
        outcome = []

        def hang():
            try:
                outcome.append(requests.get(f"{rm.url}{WS}/metrics", timeout=30))
            except requests.RequestException as exc:
                outcome.append(exc)

        hung = threading.Thread(target=hang)
        hung.start()
        time.sleep(0.2)
        pids = rm.cluster.live_pids()
        child = int(child_file.read_text())
        assert len(pids) == 2
    finally:
        t0 = time.monotonic()
        rm.stop()
    assert time.monotonic() - t0 < 10
    hung.join(5)
    assert isinstance(outcome[0], requests.ConnectionError)  # dropped, not answered
    assert all(gone(p) and group_gone(p) for p in pids)
    assert gone(child)
    assert rm.cluster.live_pids() == []
    names = [t.name for t in threading.enumerate()]
    assert not [n for n in names if n.startswith("yarn-")], names


def test_standalone_subprocess_and_remote_standby(tmp_path):
    def launch(*args):
        proc = subprocess.Popen(
            [sys.executable, "-m", "testing.yarn_emulator", "--port", "0", *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line
        return proc, line.split(" on ")[1].split()[0]

    active, url = launch("--work-dir", str(tmp_path / "w"), "--queue", "default")
    standby = None
    try:
        standby, standby_url = launch("--standby-of", url)
        r = requests.get(f"{standby_url}{WS}/info", timeout=5).json()["clusterInfo"]
        assert r["haState"] == "STANDBY"
        pid_file = tmp_path / "am.pid"
        app_id = run_submit(
            "--rm",
            f"{standby_url},{url}",
            "--",
            "bash",
            "-c",
            f"echo $$ > {pid_file}; exec sleep 300",
        )
        am_pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip()))
        wait_state(type("R", (), {"url": url}), app_id, "RUNNING")
    finally:
        for proc in (standby, active):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(timeout=20) == 0
                proc.stdout.close()
    assert gone(am_pid)


def test_container_environment_goes_through_launch_container_sh_like_hadoop(yarn_rm, tmp_path):
    """A NodeManager writes `export NAME="VALUE"` unescaped: quotes vanish, `$` expands.

    What the launcher's base64url bundle is for (see test_bundle_survives_launch_script).
    """
    out = tmp_path / "seen"
    value = 'say "hi" to $USER and `echo x` \\ done'
    app_id = rest_submit(
        yarn_rm, f"printf %s \"$WEIRD\" > {out}", env={"WEIRD": value}, user="alice"
    )
    wait_state(yarn_rm, app_id, "FINISHED")
    script = next(Path(yarn_rm.cluster.work_dir).rglob("launch_container.sh")).read_text()
    assert f'export WEIRD="{value}"' in script
    assert 'exec /bin/bash -c "' in script
    assert out.read_text() == "say hi to alice and x \\ done"


def test_only_a_registered_am_makes_the_application_running(yarn_rm):
    """No timer: a container that never registers stays ACCEPTED; the stand-in AM's
    registration call (am.py) makes it RUNNING; a wrong token is refused."""
    bare = rest_submit(yarn_rm, "sleep 300", am=False)
    wait_for(lambda: yarn_rm.app(bare).current_attempt is not None, what="AM launch")
    registered = rest_submit(yarn_rm, "sleep 300")
    wait_state(yarn_rm, registered, "RUNNING")
    time.sleep(1.0)
    assert app_info(yarn_rm, bare)["state"] == "ACCEPTED"
    attempt = yarn_rm.app(bare).current_attempt.attempt_id
    r = requests.post(
        f"{yarn_rm.url}/emulator/v1/register-am",
        json={"attempt": attempt, "token": "0" * 32},
        timeout=5,
    )
    assert r.status_code == 403
    assert app_info(yarn_rm, bare)["state"] == "ACCEPTED"
