"""Tests of the YARN RM emulator: real HTTP, real AM processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from yarn_api_client import ResourceManager
from yarn_api_client.auth import SimpleAuth
from yarn_api_client.errors import APIError

from testing.yarn_emulator import YarnRM
from testing.yarn_emulator.submit import AM, escape_for_shell

from ..yarn_helpers import app_info, rest_submit, wait_for, wait_state

pytest_plugins = ["tests.conftest_yarn"]

REPO = Path(__file__).resolve().parents[2]
WS = "/ws/v1/cluster"








def run_submit(*args, env=None):
    out = subprocess.run(
        [sys.executable, "-m", "testing.yarn_emulator.submit", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()




# "sleep 300" behind the stand-in AM, which registers (an AM-less command stays ACCEPTED).
AM_SLEEP = " ".join(escape_for_shell(w) for w in (sys.executable, AM, "--", "sleep", "300"))


def _proc_stat(pid):
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[2])  # state, pgrp


def gone(pid):
    """No such process, or only a zombie (orphans wait for PID 1 to reap them,
    and this container's PID 1 may never do it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = _proc_stat(pid)
    return stat is None or stat[0] == "Z"


def group_gone(pgid):
    """No live (non-zombie) process left in the process group."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(entry.name)
            if stat and stat[1] == pgid and stat[0] != "Z":
                return False
    return True


# --------------------------------------------------------------------------- lifecycle
def test_submit_runs_am_command_accepted_running_finished(yarn_rm_factory, tmp_path):
    rm = yarn_rm_factory(register_delay=0.5)
    out = tmp_path / "am.out"
    env = dict(os.environ, KERNEL_SECRET="s3cr3t value", JRK_EMULATOR_PRIVATE="leak")
    os.environ["JRK_EMULATOR_PRIVATE"] = "leak"  # in the emulator's own environment
    try:
        app_id = run_submit(
            "--rm",
            rm.url,
            "--name",
            "kernel-1",
            "--tag",
            "Kernel-ABC",
            "--conf",
            "spark.yarn.tags=x,y",
            "--env",
            "PLAIN=1 2",
            "--env-from-env",
            "KERNEL_SECRET",
            "--user",
            "bob",
            "--",
            "bash",
            "-c",
            'printf "%s\\n" "$KERNEL_SECRET" "$PLAIN" "$CONTAINER_ID" "$USER" "$NM_HOST" '
            '"$LOG_DIRS" "${JRK_EMULATOR_PRIVATE:-unset}" "$0" > "$1"; echo to-stdout; '
            "sleep 1",
            "argv0 with space",
            str(out),
            env=env,
        )
    finally:
        del os.environ["JRK_EMULATOR_PRIVATE"]
    assert app_id.startswith(f"application_{rm.cluster_timestamp}_")
    seen = []

    def finished():
        state = app_info(rm, app_id)["state"]
        if not seen or seen[-1] != state:
            seen.append(state)
        return state == "FINISHED"

    wait_for(finished, 15, what="FINISHED")
    assert "ACCEPTED" in seen and "RUNNING" in seen
    assert seen.index("ACCEPTED") < seen.index("RUNNING") < seen.index("FINISHED")
    info = app_info(rm, app_id)
    assert info["finalStatus"] == "SUCCEEDED"
    assert info["user"] == "bob" and info["name"] == "kernel-1"
    assert info["applicationType"] == "SPARK"
    assert info["applicationTags"] == "kernel-abc,x,y"
    assert info["finishedTime"] >= info["launchTime"] >= info["startedTime"] > 0
    lines = out.read_text().splitlines()
    secret, plain, container_id, user, nm_host, log_dirs, private, argv0 = lines
    assert secret == "s3cr3t value" and plain == "1 2"
    assert container_id == f"container_{app_id[len('application_') :]}_01_000001"
    assert user == "bob" and nm_host == "127.0.0.1"
    assert private == "unset"  # containers do not inherit the RM's environment
    assert argv0 == "argv0 with space"  # the command was shell-quoted properly
    # <LOG_DIR> in the command became the container log dir
    assert (Path(log_dirs) / "stdout").read_text() == "to-stdout\n"


def test_failing_am_is_retried_then_failed(yarn_rm):
    app_id = rest_submit(yarn_rm, "echo boom >&2; exit 3")
    info = wait_state(yarn_rm, app_id, "FAILED")
    assert info["finalStatus"] == "FAILED"
    diag = info["diagnostics"]
    assert diag.startswith(
        f"Application {app_id} failed 2 times due to AM Container for appattempt_"
    )
    assert "exited with  exitCode: 3" in diag
    attempts = requests.get(f"{yarn_rm.url}{WS}/apps/{app_id}/appattempts", timeout=5).json()[
        "appAttempts"
    ]["appAttempt"]
    assert [a["id"] for a in attempts] == [1, 2]
    assert attempts[1]["containerId"].endswith("_02_000001")


def test_max_app_attempts_one_and_capped_at_cluster_max(yarn_rm):
    one = rest_submit(yarn_rm, "exit 1", max_attempts=1)
    many = rest_submit(yarn_rm, "exit 1", max_attempts=5)
    assert "failed 1 times" in wait_state(yarn_rm, one, "FAILED")["diagnostics"]
    assert "failed 2 times" in wait_state(yarn_rm, many, "FAILED")["diagnostics"]


def test_kill_running_app_kills_process_group(yarn_rm, tmp_path):
    child_file = tmp_path / "child.pid"
    app_id = rest_submit(
        yarn_rm, f"sleep 300 & echo $! > {child_file}; trap '' TERM; sleep 300; wait"
    )
    wait_state(yarn_rm, app_id, "RUNNING")
    pid = yarn_rm.app(app_id).current_attempt.pid
    child = int(wait_for(lambda: child_file.exists() and child_file.read_text().strip()))
    assert not gone(pid) and not gone(child)

    url = f"{yarn_rm.url}{WS}/apps/{app_id}/state"
    r = requests.put(url, params={"user.name": "alice"}, json={"state": "KILLED"}, timeout=5)
    assert r.status_code == 202
    assert r.json() == {"state": "RUNNING"}
    assert r.headers["Location"].endswith(f"/apps/{app_id}")
    assert requests.get(url, timeout=5).json() == {"state": "KILLING"}
    assert app_info(yarn_rm, app_id)["state"] == "RUNNING"  # public state during KILLING
    # the AM ignores SIGTERM here, so this takes kill_grace (SIGKILL)
    info = wait_state(yarn_rm, app_id, "KILLED", timeout=15)
    assert info["finalStatus"] == "KILLED"
    assert info["diagnostics"] == "Application killed by user."
    assert gone(pid) and gone(child) and group_gone(pid)
    # killing again: already final -> 200
    r = requests.put(url, params={"user.name": "alice"}, json={"state": "KILLED"}, timeout=5)
    assert (r.status_code, r.json()) == (200, {"state": "KILLED"})


def test_kill_accepted_app_and_finished_app(yarn_rm_factory):
    rm = yarn_rm_factory(register_delay=None)  # AM never registers: stays ACCEPTED
    app_id = rest_submit(rm, "sleep 300")
    wait_for(lambda: rm.app(app_id).current_attempt is not None, what="AM launch")
    url = f"{rm.url}{WS}/apps/{app_id}/state"
    r = requests.put(url, params={"user.name": "a"}, json={"state": "KILLED"}, timeout=5)
    assert (r.status_code, r.json()) == (202, {"state": "ACCEPTED"})
    wait_state(rm, app_id, "KILLED")
    assert group_gone(rm.app(app_id).current_attempt.pid)

    done = rest_submit(rm, "exit 0")
    wait_state(rm, done, "FINISHED")
    r = requests.put(
        f"{rm.url}{WS}/apps/{done}/state",
        params={"user.name": "a"},
        json={"state": "KILLED"},
        timeout=5,
    )
    assert (r.status_code, r.json()) == (200, {"state": "FINISHED"})


def test_bad_target_state_is_400(yarn_rm):
    app_id = rest_submit(yarn_rm, "sleep 300")
    wait_state(yarn_rm, app_id, "RUNNING")
    url = f"{yarn_rm.url}{WS}/apps/{app_id}/state"
    for target in ("FINISHED", "ACCEPTED", "killed"):
        r = requests.put(url, params={"user.name": "a"}, json={"state": target}, timeout=5)
        assert r.status_code == 400
        assert r.json()["RemoteException"] == {
            "exception": "BadRequestException",
            "message": "java.lang.Exception: Only 'KILLED' is allowed as a target state.",
            "javaClassName": "org.apache.hadoop.yarn.webapp.BadRequestException",
        }
    # RMWebServices quirk: the current state as target is a 200 no-op
    r = requests.put(url, params={"user.name": "a"}, json={"state": "RUNNING"}, timeout=5)
    assert (r.status_code, r.json()) == (200, {"state": "RUNNING"})


def test_error_envelopes(yarn_rm):
    ts = yarn_rm.cluster_timestamp
    for suffix in ("", "/state", "/appattempts"):
        r = requests.get(f"{yarn_rm.url}{WS}/apps/application_{ts}_0042{suffix}", timeout=5)
        assert r.status_code == 404
        assert r.json() == {
            "RemoteException": {
                "exception": "NotFoundException",
                "message": f"java.lang.Exception: app with id: application_{ts}_0042 not found",
                "javaClassName": "org.apache.hadoop.yarn.webapp.NotFoundException",
            }
        }
    r = requests.put(
        f"{yarn_rm.url}{WS}/apps/application_{ts}_0042/state", json={"state": "KILLED"}, timeout=5
    )
    assert r.status_code == 404
    for bad in ("foo", "application_x_1", "application_1"):
        r = requests.get(f"{yarn_rm.url}{WS}/apps/{bad}", timeout=5)
        assert r.status_code == 400
        exc = r.json()["RemoteException"]
        assert exc["exception"] == "BadRequestException"
        assert "Invalid ApplicationId" in exc["message"]
    # Jersey routes GET /apps/new-application to /apps/{appid}
    assert requests.get(f"{yarn_rm.url}{WS}/apps/new-application", timeout=5).status_code == 400


def test_unknown_queue_fails_the_app(yarn_rm):
    app_id = rest_submit(yarn_rm, "sleep 300", queue="nope", user="carol")
    info = wait_state(yarn_rm, app_id, "FAILED")
    assert info["finalStatus"] == "FAILED"
    assert info["diagnostics"] == (
        f"Application {app_id} submitted by user carol to unknown queue: nope"
    )
    assert yarn_rm.app(app_id).attempts == []


# --------------------------------------------------------------------------- listing
def test_apps_filters(yarn_rm_factory):
    rm = yarn_rm_factory(queues={"default": None, "other": None})
    before = int(time.time() * 1000)
    a = rest_submit(rm, "sleep 300", tags=["Kernel-A", "shared"], name="ka", user="u1")
    b = rest_submit(
        rm, "sleep 300", tags=["kernel-b"], name="kb", user="u2", queue="other", app_type="YARN"
    )
    c = rest_submit(rm, "exit 0", tags=["kernel-c"], name="kc", user="u1")
    wait_state(rm, a, "RUNNING")
    wait_state(rm, b, "RUNNING")
    wait_state(rm, c, "FINISHED")

    def ids(**params):
        r = requests.get(f"{rm.url}{WS}/apps", params=params, timeout=5)
        assert r.status_code == 200, r.text
        apps = r.json()["apps"]
        return None if not apps else sorted(x["id"] for x in apps["app"])

    assert ids() == sorted([a, b, c])
    assert ids(applicationTags="KERNEL-A") == [a]
    assert ids(applicationTags="kernel-a,kernel-b") == sorted([a, b])  # any-of
    assert ids(applicationTags="nope") is None
    assert ids(states="running") == sorted([a, b])
    assert ids(states="Finished,KILLED") == [c]
    assert ids(finalStatus="SUCCEEDED") == [c]
    assert ids(user="u1") == sorted([a, c])
    assert ids(queue="other") == [b]
    assert ids(name="kc") == [c]
    assert ids(applicationTypes="spark") == sorted([a, c])
    assert ids(startedTimeBegin=before) == sorted([a, b, c])
    assert ids(startedTimeBegin=int(time.time() * 1000) + 60_000) is None
    assert ids(startedTimeEnd=before - 1) is None
    assert ids(finishedTimeBegin=before) == [c]
    assert len(ids(limit=2)) == 2
    r = requests.get(f"{rm.url}{WS}/apps", params={"states": "BOGUS"}, timeout=5)
    assert r.status_code == 400 and "BadRequestException" in r.text
    assert requests.get(f"{rm.url}{WS}/apps", params={"states": "KILLED"}, timeout=5).json() == {
        "apps": {}
    }


def test_ids_grow_past_9999(yarn_rm_factory):
    rm = yarn_rm_factory(start_seq=9998)
    got = [
        requests.post(f"{rm.url}{WS}/apps/new-application", timeout=5).json()["application-id"]
        for _ in range(3)
    ]
    ts = rm.cluster_timestamp
    assert got == [f"application_{ts}_9998", f"application_{ts}_9999", f"application_{ts}_10000"]
    assert sorted(got)[-1] != got[-1]  # why ids must never be compared as strings


def test_queue_full_stays_accepted_until_capacity_frees(yarn_rm_factory):
    rm = yarn_rm_factory(queues={"default": None, "small": 1})
    first = rest_submit(rm, "sleep 300", queue="small")
    wait_state(rm, first, "RUNNING")
    second = rest_submit(rm, "sleep 300", queue="small")
    info = wait_for(
        lambda: (
            (i := app_info(rm, second))["state"] == "ACCEPTED" and "limit" in i["diagnostics"] and i
        ),
        what="pending diagnostics",
    )
    time.sleep(0.5)
    info = app_info(rm, second)
    assert info["state"] == "ACCEPTED"
    assert (
        "Application is added to the scheduler and is not yet activated. Queue's AM "
        "resource limit exceeded." in info["diagnostics"]
    )
    assert info["diagnostics"].startswith("[")
    assert rm.app(second).attempts == []  # the AM has not been started
    queues = requests.get(f"{rm.url}{WS}/scheduler", timeout=5).json()["scheduler"][
        "schedulerInfo"
    ]["queues"]["queue"]
    small = next(q for q in queues if q["queueName"] == "small")
    assert (small["numActiveApplications"], small["numPendingApplications"]) == (1, 1)
    assert small["usedCapacity"] > 0
    assert {q["queueName"] for q in queues} == {"default", "small"}

    requests.put(
        f"{rm.url}{WS}/apps/{first}/state",
        params={"user.name": "a"},
        json={"state": "KILLED"},
        timeout=5,
    )
    wait_state(rm, first, "KILLED")
    wait_state(rm, second, "RUNNING")
    assert len(rm.app(second).attempts) == 1


def test_cluster_views(yarn_rm):
    app_id = rest_submit(yarn_rm, "sleep 300")
    wait_state(yarn_rm, app_id, "RUNNING")
    m = requests.get(f"{yarn_rm.url}{WS}/metrics", timeout=5).json()["clusterMetrics"]
    assert m["appsRunning"] == 1 and m["appsSubmitted"] == 1 and m["allocatedMB"] == 1024
    nodes = requests.get(f"{yarn_rm.url}{WS}/nodes", timeout=5).json()["nodes"]["node"]
    assert nodes[0]["numContainers"] == 1 and nodes[0]["state"] == "RUNNING"
    info = requests.get(f"{yarn_rm.url}{WS}/info", timeout=5).json()["clusterInfo"]
    assert info["state"] == "STARTED" and info["haState"] == "ACTIVE"
    assert info["id"] == yarn_rm.cluster_timestamp


# --------------------------------------------------------------------------- HA
def test_standby_redirects_and_failover(yarn_ha):
    active, standby = yarn_ha.active, yarn_ha.standby
    info = requests.get(f"{standby.url}{WS}/info", timeout=5).json()["clusterInfo"]
    assert info["haState"] == "STANDBY"
    r = requests.get(f"{standby.url}{WS}/apps?states=RUNNING", allow_redirects=False, timeout=5)
    assert r.status_code == 307
    assert r.headers["Location"] == f"{active.url}{WS}/apps?states=RUNNING"
    # the stand-in submitter follows 307s (POST) from the standby
    app_id = run_submit("--rm", standby.url, "--", "sleep", "300")
    assert app_id.startswith(f"application_{active.cluster_timestamp}_")
    wait_state(active, app_id, "RUNNING")

    new_active = yarn_ha.failover()
    assert new_active is standby
    assert (
        requests.get(f"{standby.url}{WS}/info", timeout=5).json()["clusterInfo"]["haState"]
        == "ACTIVE"
    )
    r = requests.get(f"{active.url}{WS}/apps/{app_id}", allow_redirects=False, timeout=5)
    assert r.status_code == 307 and r.headers["Location"].startswith(standby.url)
    # the app survives the failover (shared state); new ids carry the new RM's timestamp
    assert app_info(standby, app_id)["state"] == "RUNNING"
    new_id = requests.post(f"{standby.url}{WS}/apps/new-application", timeout=5).json()[
        "application-id"
    ]
    assert new_id == f"application_{standby.cluster_timestamp}_0001"
    # PUT through the old active is redirected (requests re-sends the body on 307)
    r = requests.put(
        f"{active.url}{WS}/apps/{app_id}/state",
        params={"user.name": "a"},
        json={"state": "KILLED"},
        timeout=5,
    )
    assert r.status_code == 202
    wait_state(standby, app_id, "KILLED")


def test_yarn_api_client_active_probe_trap(yarn_ha):
    """yarn-api-client probes `<rm>/cluster` and follows the standby's 307, so it
    takes the first endpoint (here the standby) for the active one."""
    rm = ResourceManager(service_endpoints=[yarn_ha.standby.url, yarn_ha.active.url], timeout=5)
    assert rm.get_active_endpoint() == yarn_ha.standby.url
    assert rm.cluster_information().data["clusterInfo"]["haState"] == "STANDBY"


# --------------------------------------------------------------------------- auth
def test_user_name_required_for_writes(yarn_rm_factory):
    rm = yarn_rm_factory(require_user_name=True)
    r = requests.post(f"{rm.url}{WS}/apps/new-application", timeout=5)
    assert r.status_code == 401
    assert r.json()["RemoteException"]["exception"] == "AuthenticationException"
    assert requests.get(f"{rm.url}{WS}/apps", timeout=5).status_code == 200  # reads are open
    app_id = rest_submit(rm, "sleep 300", user="dora")
    assert app_info(rm, app_id)["user"] == "dora"
    r = requests.put(f"{rm.url}{WS}/apps/{app_id}/state", json={"state": "KILLED"}, timeout=5)
    assert r.status_code == 401
    assert "Set-Cookie" not in r.headers


def test_yarn_api_client_simple_auth_cookie(yarn_rm_factory):
    no_cookie = yarn_rm_factory(require_user_name=True)
    # SimpleAuth expects a hadoop.auth cookie; its probe already runs in the
    # constructor (the active-RM check `GET <rm>/cluster` goes through the auth)
    with pytest.raises(KeyError, match=r"hadoop\.auth"):
        ResourceManager([no_cookie.url], timeout=5, auth=SimpleAuth("erin"))

    rm = yarn_rm_factory(require_user_name=True, set_auth_cookie=True)
    client = ResourceManager([rm.url], timeout=5, auth=SimpleAuth("erin"))
    assert client.cluster_information().data["clusterInfo"]["haState"] == "ACTIVE"
    app_id = client.cluster_new_application().data["application-id"]
    client.cluster_submit_application(
        {
            "application-id": app_id,
            "application-name": "via-client",
            "am-container-spec": {"commands": {"command": AM_SLEEP}},
            "application-tags": {"tag": ["Via-Client"]},
        }
    )
    wait_state(rm, app_id, "RUNNING")
    assert client.cluster_application(app_id).data["app"]["user"] == "erin"
    # the cookie alone authenticates the PUT (SimpleAuth sends no user.name)
    assert client.cluster_application_kill(app_id).data == {"state": "RUNNING"}
    wait_state(rm, app_id, "KILLED")


def test_yarn_api_client_calls(yarn_rm):
    client = ResourceManager(service_endpoints=[yarn_rm.url], timeout=5)
    app_id = client.cluster_new_application().data["application-id"]
    client.cluster_submit_application(
        {
            "application-id": app_id,
            "application-name": "c",
            "am-container-spec": {"commands": {"command": AM_SLEEP}},
            "application-tags": {"tag": ["K1"]},
        }
    )
    wait_state(yarn_rm, app_id, "RUNNING")
    apps = client.cluster_applications(states=["RUNNING"], application_tags=["k1"]).data
    assert [a["id"] for a in apps["apps"]["app"]] == [app_id]
    assert client.cluster_applications(states=["KILLED"]).data == {"apps": {}}
    assert client.cluster_application_state(app_id).data == {"state": "RUNNING"}
    assert client.cluster_application(app_id).data["app"]["user"] == "dr.who"
    attempts = client.cluster_application_attempts(app_id).data["appAttempts"]["appAttempt"]
    assert len(attempts) == 1
    assert client.cluster_application_kill(app_id).data == {"state": "RUNNING"}
    wait_state(yarn_rm, app_id, "KILLED")
    with pytest.raises(APIError, match="404"):
        client.cluster_application(f"application_{yarn_rm.cluster_timestamp}_0099")


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
