"""The RM emulator answers in the shape of a real ResourceManager's recorded answers.

``testing/yarn_emulator/recorded/`` holds answers of a real Hadoop 3.5 ResourceManager
(``python -m testing.yarncluster record``). Here the emulator is driven through the same
situations and each answer must have the recorded status code and *shape*: the same keys,
with values of the same JSON types, all the way down (ids, times and host names differ).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from ..yarn_helpers import WS, rest_submit, wait_for, wait_state

RECORDED = Path(__file__).resolve().parents[2] / "testing" / "yarn_emulator" / "recorded"


def shape(value):
    """Keys and JSON types, recursively; a list's shape is that of its first item."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool) or value is None:
        return repr(value) if value is None else "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def recorded(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text())


def check(name: str, response: requests.Response) -> None:
    real = recorded(name)
    assert response.status_code == real["status"], (name, response.text)
    assert shape(response.json()) == shape(real["body"]), name


@pytest.fixture
def rm(yarn_rm_factory):
    return yarn_rm_factory(queues={"default": None, "small": 1})


def get(rm, path: str, **params) -> requests.Response:
    return requests.get(f"{rm.url}{WS}/{path}", params=params, timeout=10)


def put_state(rm, app_id: str, state: str) -> requests.Response:
    return requests.put(
        f"{rm.url}{WS}/apps/{app_id}/state",
        params={"user.name": "alice"},
        json={"state": state},
        timeout=10,
    )


def test_cluster_and_app_answers_have_the_recorded_shape(rm):
    check("cluster_info", get(rm, "info"))
    running = rest_submit(rm, "sleep 300", tags=["jrk-rec-a"])
    wait_state(rm, running, "RUNNING")
    check("app_running", get(rm, f"apps/{running}"))
    check("app_state_running", get(rm, f"apps/{running}/state"))
    check("apps_by_tag", get(rm, "apps", applicationTags="jrk-rec-a"))
    check("apps_none", get(rm, "apps", applicationTags="no-such-tag"))
    check("kill_running", put_state(rm, running, "KILLED"))
    wait_state(rm, running, "KILLED", timeout=15)
    check("app_killed", get(rm, f"apps/{running}"))
    check("kill_final", put_state(rm, running, "KILLED"))

    done = rest_submit(rm, "sleep 1")  # long enough for its AM to register, as Spark's did
    wait_state(rm, done, "FINISHED")
    check("app_finished", get(rm, f"apps/{done}"))
    check("put_state_same", put_state(rm, done, "FINISHED"))

    missing = running.rsplit("_", 1)[0] + "_9999"
    check("app_not_found", get(rm, f"apps/{missing}"))
    check("kill_not_found", put_state(rm, missing, "KILLED"))
    check("app_bad_id", get(rm, "apps/not-an-application-id"))


def test_queue_full_answers_have_the_recorded_shape(rm):
    first = rest_submit(rm, "sleep 300", queue="small")
    wait_state(rm, first, "RUNNING")
    second = rest_submit(rm, "sleep 300", queue="small")
    wait_for(lambda: "AM resource limit" in get(rm, f"apps/{second}").json()["app"]["diagnostics"])
    answer = get(rm, f"apps/{second}")
    check("app_accepted_small_queue_full", answer)
    real = recorded("app_accepted_small_queue_full")["body"]["app"]
    assert answer.json()["app"]["queue"] == real["queue"] == "root.small"
    assert answer.json()["app"]["state"] == real["state"] == "ACCEPTED"
    check("kill_accepted", put_state(rm, second, "KILLED"))
    put_state(rm, first, "KILLED")
