"""Tests of the YARN RM emulator: real HTTP, real AM processes. Listing apps and the
cluster, HA (standby redirects, failover), auth (user.name, SimpleAuth), yarn-api-client."""

from __future__ import annotations

import time

import pytest
import requests
from yarn_api_client import ResourceManager
from yarn_api_client.auth import SimpleAuth
from yarn_api_client.errors import APIError

from ..yarn_helpers import (
    AM_SLEEP,
    WS,
    app_info,
    rest_submit,
    run_submit,
    wait_for,
    wait_state,
)

pytest_plugins = ["tests.conftest_yarn"]


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


