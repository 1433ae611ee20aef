"""Tests of the YARN RM emulator: real HTTP, real AM processes. The application
lifecycle: submit, AM attempts, kill, error envelopes (listing and HA, auth, test hooks:
test_yarn_emulator_api.py, test_yarn_emulator_hooks.py)."""

from __future__ import annotations

import os
from pathlib import Path

import requests

from ..yarn_helpers import (
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

    done = rest_submit(rm, "sleep 2")
    wait_for(lambda: rm.app(done).current_attempt is not None, what="AM launch")
    rm.cluster.register_am(done)  # (this RM's AMs never register by themselves)
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
            "message": "Only 'KILLED' is allowed as a target state.",  # as recorded
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




def test_an_am_that_exits_0_without_registering_fails_like_on_a_real_rm(yarn_rm_factory):
    """Hadoop's RMAppAttemptImpl fails an attempt whose AM container ends before its AM
    registered, whatever the exit code (AMContainerCrashedBeforeRunningTransition); after
    max-app-attempts such attempts the application is FAILED, not FINISHED/SUCCEEDED.
    The real RM's answer: testing/yarn_emulator/recorded/app_failed_unregistered.json."""
    rm = yarn_rm_factory(register_delay=None)
    app_id = rest_submit(rm, "exit 0", max_attempts=2)
    info = wait_state(rm, app_id, "FINISHED", "FAILED", timeout=15)
    assert (info["state"], info["finalStatus"]) == ("FAILED", "FAILED"), info
    second = f"appattempt_{app_id.split('_', 1)[1]}_000002"
    assert info["diagnostics"].startswith(
        f"Application {app_id} failed 2 times due to AM Container for {second} exited with "
        " exitCode: 0\nFailing this attempt.Diagnostics: For more detailed output, check the "
        "application tracking page: "
    ), info["diagnostics"]
    assert info["diagnostics"].endswith(
        "Then click on links to logs of each attempt.\n. Failing the application."
    )
    assert [a.state for a in rm.app(app_id).attempts] == ["FAILED", "FAILED"]
    # The same command behind an AM that registers ends FINISHED/SUCCEEDED.
    fine = yarn_rm_factory()
    done = rest_submit(fine, "exit 0")
    info = wait_state(fine, done, "FINISHED", "FAILED", timeout=15)
    assert (info["state"], info["finalStatus"]) == ("FINISHED", "SUCCEEDED"), info
