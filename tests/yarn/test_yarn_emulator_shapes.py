"""The RM emulator answers in the shape of a real ResourceManager's recorded answers.

``testing/yarn_emulator/recorded/`` holds answers of a real Hadoop 3.5 ResourceManager
(``python -m testing.yarncluster record``). Here the emulator is driven through the same
situations and EVERY recorded answer must have its status code and *shape*: the same keys,
with values of the same JSON types, all the way down, for every item of every list (ids,
times and host names differ).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from ..yarn_helpers import WS, rest_submit, wait_for, wait_state

RECORDED = Path(__file__).resolve().parents[2] / "testing" / "yarn_emulator" / "recorded"


def shape(value):
    """Keys and JSON types, recursively. A list's shape is the set of its items' shapes
    (every item counts; how many items there are does not: the real cluster had two
    NodeManagers, the emulator has one)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return sorted({json.dumps(shape(item), sort_keys=True) for item in value})
    if isinstance(value, bool) or value is None:
        return repr(value) if value is None else "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def test_shape_compares_every_item_of_a_list():
    first = {"a": [{"x": 1}, {"x": 1, "y": "z"}]}
    assert shape(first) != shape({"a": [{"x": 2}]})
    assert shape(first) == shape({"a": [{"x": 2, "y": ""}, {"x": 3}, {"x": 4}]})
    assert shape({"a": []}) != shape({"a": [1]})


def recorded(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text())


def differences(ours, real, path: str = "") -> list[str]:
    """Where two shapes differ: ``path: ours != real`` lines (keys only one side has)."""
    if isinstance(ours, dict) and isinstance(real, dict):
        out = []
        for key in sorted(set(ours) | set(real)):
            if key not in real:
                out.append(f"{path}.{key}: only in the emulator's answer")
            elif key not in ours:
                out.append(f"{path}.{key}: missing (the real RM has it: {real[key]})")
            else:
                out += differences(ours[key], real[key], f"{path}.{key}")
        return out
    if isinstance(ours, list) and isinstance(real, list) and ours != real:
        if len(ours) == len(real) == 1:  # one item shape each: say where they differ
            return differences(json.loads(ours[0]), json.loads(real[0]), f"{path}[]")
        return [f"{path}[]: item shapes {ours} != {real}"]
    return [] if ours == real else [f"{path}: {ours} != {real}"]


class Checker:
    """Compares answers with the recorded ones; every difference is listed at the end."""

    def __init__(self):
        self.checked: set[str] = set()
        self.problems: list[str] = []

    def __call__(self, name: str, response: requests.Response) -> None:
        real = recorded(name)
        self.checked.add(name)
        if response.status_code != real["status"]:
            self.problems.append(f"{name}: status {response.status_code} != {real['status']}")
            return
        for line in differences(shape(response.json()), shape(real["body"])):
            self.problems.append(f"{name}: {line}")


def get(rm, path: str, **params) -> requests.Response:
    return requests.get(f"{rm.url}{WS}/{path}", params=params, timeout=10)


def put_state(rm, app_id: str, state: str) -> requests.Response:
    return requests.put(
        f"{rm.url}{WS}/apps/{app_id}/state",
        params={"user.name": "alice"},
        json={"state": state},
        timeout=10,
    )


def running(rm, app_id: str) -> None:
    """Its AM registers now (this RM's AMs never register by themselves)."""
    wait_for(lambda: rm.app(app_id).current_attempt is not None, what=f"{app_id}'s AM")
    rm.cluster.register_am(app_id)
    wait_state(rm, app_id, "RUNNING")


@pytest.fixture
def rm(yarn_rm_factory):
    return yarn_rm_factory(queues={"default": None, "small": 1}, register_delay=None)


def test_every_recorded_answer_has_its_shape(rm, tmp_path):
    """The emulator goes through record.py's sequence; all recorded answers are compared."""
    check = Checker()
    check("cluster_info", get(rm, "info"))

    a = rest_submit(rm, "sleep 300", tags=["jrk-rec-a"])
    wait_for(lambda: rm.app(a).current_attempt is not None, what="AM launch")
    wait_state(rm, a, "ACCEPTED")
    check("app_accepted", get(rm, f"apps/{a}"))
    running(rm, a)
    check("app_running", get(rm, f"apps/{a}"))
    check("app_state_running", get(rm, f"apps/{a}/state"))
    check("app_attempts_running", get(rm, f"apps/{a}/appattempts"))
    check("apps_by_tag", get(rm, "apps", applicationTags="jrk-rec-a"))
    check("apps_by_tags_and_states", get(rm, "apps", applicationTags="jrk-rec-a,no-such-tag",
                                         states="accepted,running"))  # fmt: skip
    check("apps_none", get(rm, "apps", applicationTags="no-such-tag"))

    # the small queue: one application runs, the next one stays ACCEPTED
    release = tmp_path / "release-s1"
    s1 = rest_submit(rm, f"while [ ! -e {release} ]; do sleep 0.1; done", queue="small")
    running(rm, s1)
    s2 = rest_submit(rm, "sleep 300", queue="small")
    wait_for(lambda: "AM resource limit" in get(rm, f"apps/{s2}").json()["app"]["diagnostics"])
    answer = get(rm, f"apps/{s2}")
    check("app_accepted_small_queue_full", answer)
    real = recorded("app_accepted_small_queue_full")["body"]["app"]
    assert answer.json()["app"]["queue"] == real["queue"] == "root.small"
    assert answer.json()["app"]["state"] == real["state"] == "ACCEPTED"
    check("apps_in_queue_small", get(rm, "apps", queue="small"))
    check("kill_accepted", put_state(rm, s2, "KILLED"))
    wait_state(rm, s2, "KILLED", timeout=15)

    check("kill_running", put_state(rm, a, "KILLED"))
    check("app_state_after_kill", get(rm, f"apps/{a}/state"))
    wait_state(rm, a, "KILLED", timeout=15)
    check("app_killed", get(rm, f"apps/{a}"))
    check("kill_final", put_state(rm, a, "KILLED"))
    check("put_state_same", put_state(rm, s1, "RUNNING"))
    invalid = put_state(rm, s1, "FINISHED")
    check("put_state_invalid", invalid)
    assert invalid.json() == recorded("put_state_invalid")["body"]

    release.write_text("")
    wait_state(rm, s1, "FINISHED")
    check("app_finished", get(rm, f"apps/{s1}"))

    missing = a.rsplit("_", 1)[0] + "_9999"
    check("app_not_found", get(rm, f"apps/{missing}"))
    check("app_bad_id", get(rm, "apps/not-an-application-id"))
    check("kill_not_found", put_state(rm, missing, "KILLED"))
    check("cluster_metrics", get(rm, "metrics"))
    check("cluster_nodes", get(rm, "nodes"))

    # an AM container that exits 0 without registering: the attempts fail, then the app
    unregistered = rest_submit(rm, "exit 0", max_attempts=2, app_type="YARN")
    wait_state(rm, unregistered, "FAILED", "FINISHED", timeout=15)
    answer = get(rm, f"apps/{unregistered}")
    check("app_failed_unregistered", answer)
    check("app_attempts_failed", get(rm, f"apps/{unregistered}/appattempts"))
    real = recorded("app_failed_unregistered")["body"]["app"]
    assert answer.json()["app"]["finalStatus"] == real["finalStatus"] == "FAILED"
    ours, theirs = answer.json()["app"]["diagnostics"], real["diagnostics"]
    for app_id, diagnostics in ((unregistered, ours), (real["id"], theirs)):
        assert diagnostics.startswith(f"Application {app_id} failed 2 times due to AM Container "
                                      f"for appattempt_{app_id[12:]}_000002 exited with  "
                                      "exitCode: 0\nFailing this attempt.Diagnostics: For more "
                                      "detailed output, check the application tracking page: ")
        assert diagnostics.endswith(" Then click on links to logs of each attempt.\n. Failing "
                                    "the application.")  # fmt: skip

    everything = {p.stem for p in RECORDED.glob("*.json")}
    assert check.checked == everything, sorted(everything - check.checked)
    assert not check.problems, "\n".join(check.problems)
