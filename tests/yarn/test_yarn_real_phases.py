"""Launch phases and launch errors that tell the truth, on the real YARN cluster.

Waiting for an ApplicationMaster container (no allocation: the queue or the cluster's
capacity) is not waiting for a driver in an AM container that runs (allocated, the
application still ACCEPTED until the driver registers); a submission the ResourceManager
refuses outright is HTTP 503 with the queue and YARN's reason, not a 500. The cluster's
queue ``one`` holds at most one application (maximum-applications 1), so the RM refuses a
second one on demand; a driver is made slow with a PYSPARK_PYTHON that sleeps before
starting Python (a busy node), the real AM container running all the while.
"""

from __future__ import annotations

import signal
import sys

import pytest

from ..abuse import COUNTS
from ..kernels import wait_for
from ..server_process import ServerProcess
from ..yarn_helpers import (
    LAUNCH_TIMEOUT,
    assert_ended,
    install_spark_spec,
    leftovers,
    start_kernel,
    start_waiting,
)

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(autouse=True)
def _nothing_left_for_the_next_test(yarn_cluster):
    yield
    yarn_cluster.clear()


@pytest.fixture
def server(tmp_path):
    started: list[ServerProcess] = []

    def make() -> ServerProcess:
        started.append(ServerProcess(tmp_path, token="yarn-phases").start(timeout=60))
        return started[-1]

    yield make
    for one in started:
        one.stop(signal.SIGTERM, timeout=120)


def test_a_submission_the_rm_refuses_answers_503_with_the_queue_and_its_reason(
    yarn_cluster, tmp_path, server
):
    install_spark_spec(yarn_cluster, tmp_path, "spark-one", queue="one")
    srv = server()
    first = start_kernel(srv, "spark-one")
    r = srv.request("POST", "/api/kernels", {"name": "spark-one"}, timeout=LAUNCH_TIMEOUT + 60)
    assert r.status_code == 503, r.text
    message = r.json()["message"]
    print(message)
    assert "queue 'root.one'" in message or "queue 'one'" in message, message
    assert "already has 1 applications, cannot accept submission" in message, message
    first_app = first["placement"]["details"]["app_id"]
    refused = [
        a for a in yarn_cluster.apps() if a["queue"] in ("one", "root.one") and a["id"] != first_app
    ]
    assert [a["state"] for a in refused] == ["FAILED"], refused
    assert refused[0]["id"] in message
    COUNTS["faults"] += 1
    assert [k["id"] for k in srv.request("GET", "/api/kernels").json()] == [first["id"]]
    assert srv.request("DELETE", f"/api/kernels/{first['id']}").status_code == 204
    assert_ended(yarn_cluster, first["placement"]["details"]["app_id"])
    assert not leftovers(yarn_cluster)


def test_a_launch_timing_out_with_its_am_running_says_so_with_the_node(
    yarn_cluster, tmp_path, server
):
    slow = tmp_path / "slow-python"
    slow.write_text(f'#!/bin/sh\nsleep 600\nexec {sys.executable} "$@"\n')
    slow.chmod(0o755)
    spec = install_spark_spec(
        yarn_cluster, tmp_path, "spark-slow", python=str(slow), launch_timeout=90
    )
    srv = server()
    waiting, outcome = start_waiting(srv, spec.name)

    def am_running():
        for model in srv.request("GET", "/api/remote-kernels").json():
            p = model["placement"]
            if "ApplicationMaster container running on" in (p.get("detail") or ""):
                return p
        return None

    p = wait_for(am_running, 80)
    assert p, srv.request("GET", "/api/remote-kernels").json()
    app = yarn_cluster.app(p["details"]["app_id"])
    node = app["amHostHttpAddress"].rpartition(":")[0]
    assert app["state"] == "ACCEPTED" and app["allocatedMB"] > 0, app
    assert p["phase"] == "waiting-for-launcher", p
    assert f"running on {node}; waiting for the driver to register" in p["detail"], p
    waiting.join(200)
    r = outcome[0]
    assert r.status_code == 504, r.text
    message = r.json()["message"]
    print(message)
    assert f"ApplicationMaster container running on {node}" in message, message
    assert "did not register" in message and "queue is full" not in message, message
    assert_ended(yarn_cluster, app["id"])
    COUNTS["faults"] += 1
    assert not leftovers(yarn_cluster)
