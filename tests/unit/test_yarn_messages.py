"""What a YARN launch says while it waits and when it fails, from real RM answers
(testing/yarn_emulator/recorded: Hadoop 3.5's own JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from jupyter_remote_kernels.yarn import messages

RECORDED = Path(__file__).resolve().parents[2] / "testing" / "yarn_emulator" / "recorded"


def recorded_app(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text())["body"]["app"]


def timed_out(app: dict) -> str:
    return messages.timed_out(
        app, kernel_id="k", tag="k", timeout=60, phase="pending", host=None, rm_error=None,
        submit_output="", response_address="10.0.0.1:1234",
    )  # fmt: skip


def test_no_am_container_yet_is_pending_with_the_rms_diagnostics():
    app = recorded_app("app_accepted_small_queue_full")  # ACCEPTED, allocatedMB 0
    phase, detail = messages.launch_phase(app)
    assert phase == "pending"
    assert detail.startswith("ACCEPTED in queue root.small, waiting for an AM container: ")
    assert "Queue's AM resource limit exceeded" in detail
    message = timed_out(app)
    assert "queue is full" in message and "no AM container was allocated" in message


def test_an_allocated_am_container_is_waiting_for_the_driver_on_its_node():
    app = recorded_app("app_accepted")  # ACCEPTED, allocatedMB 896 on jrk-host2
    assert messages.am_node(app) == "jrk-host2"
    phase, detail = messages.launch_phase(app)
    assert phase == "waiting-for-launcher"
    assert detail == (
        "ApplicationMaster container allocated on jrk-host2; waiting for the driver to "
        "register (ACCEPTED in queue root.default)"
    )
    launched = dict(app, launchTime=app["startedTime"] + 900)
    assert "container running on jrk-host2" in messages.launch_phase(launched)[1]
    message = timed_out(launched)
    assert "ApplicationMaster container running on jrk-host2" in message
    assert "did not register" in message and "queue is full" not in message


def test_a_refused_submission_is_told_from_a_failed_am():
    refused = {
        "id": "application_1_0002",
        "queue": "root.one",
        "state": "FAILED",
        "diagnostics": "org.apache.hadoop.security.AccessControlException: Queue root.one "
        "already has 1 applications, cannot accept submission of application: "
        "application_1_0002",
    }
    reason = messages.rejected_reason(refused)
    assert reason is not None and reason.startswith("Queue root.one already has 1 applications")
    assert "queue 'root.one'" in messages.rejected(refused, "k", reason)
    am_failed = dict(
        refused,
        diagnostics="Application application_1_0002 failed 1 times due to AM Container for "
        "appattempt_1_0002_000001 exited with exitCode: 1. Failing this attempt.",
        amContainerLogs="http://jrk-host1:8042/node/containerlogs/c/root",
    )
    assert messages.rejected_reason(am_failed) is None
    assert messages.rejected_reason(dict(refused, state="KILLED")) is None
