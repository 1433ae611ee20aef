"""The real YARN test cluster (testing/yarncluster) runs real Spark applications on the bed's
hosts, queues them in the ``small`` queue, kills them, and leaves no container behind."""

from __future__ import annotations

import json
import subprocess
import textwrap
import time
import uuid

import pytest

APP = textwrap.dedent("""\
    import json, os, socket, sys, time
    from pyspark.sql import SparkSession

    out, hold = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""
    spark = SparkSession.builder.getOrCreate()
    count = spark.range(1000).count()
    executors = spark.sparkContext.parallelize([0], 1).map(
        lambda _: socket.gethostname()).collect()
    with open(out + ".tmp", "w") as f:
        json.dump({"count": count, "driver_host": socket.gethostname(),
                   "executor_hosts": executors, "pid": os.getpid()}, f)
    os.replace(out + ".tmp", out)
    deadline = time.monotonic() + 300
    while hold and not os.path.exists(hold) and time.monotonic() < deadline:
        time.sleep(0.2)
    spark.stop()
""")


def _submit(cluster, app, *args, queue="default", tag):
    """spark-submit in cluster mode; returns the seconds spark-submit itself took."""
    t0 = time.monotonic()
    proc = subprocess.run(cluster.spark_submit_argv(app, *args, queue=queue, tags=[tag],
                                                    name=f"jrk-{tag}"),
                          env=cluster.spark_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return time.monotonic() - t0


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"{what} within {timeout}s")


@pytest.fixture
def spark_app(tmp_path):
    path = tmp_path / "app.py"
    path.write_text(APP)
    return path


def _no_containers_left(cluster):
    _wait(lambda: not cluster.container_processes(), 60,
          f"container processes still running: {cluster.container_processes()}")


def test_spark_submit_cluster_mode_runs_on_bed_hosts(yarn_cluster, spark_app, tmp_path,
                                                      record_property):
    cluster = yarn_cluster
    hostnames = {h.hostname for h in cluster.hosts}
    out = tmp_path / "out.json"
    tag = f"smoke-{uuid.uuid4().hex[:8]}"
    t0 = time.monotonic()
    submit_s = _submit(cluster, spark_app, str(out), tag=tag)
    app = cluster.wait_app(tag=tag, states=["RUNNING", "FINISHED"], timeout=240)
    running_s = time.monotonic() - t0
    app = cluster.wait_app(app["id"], states=["FINISHED"], timeout=240)
    finished_s = time.monotonic() - t0
    record_property("spark_submit_seconds", round(submit_s, 1))
    record_property("to_running_seconds", round(running_s, 1))
    record_property("to_finished_seconds", round(finished_s, 1))
    print(f"spark-submit {submit_s:.1f}s, RUNNING after {running_s:.1f}s, "
          f"FINISHED after {finished_s:.1f}s")

    assert app["finalStatus"] == "SUCCEEDED", app["diagnostics"]
    assert app["queue"] in ("default", "root.default")
    assert tag in app["applicationTags"].split(",")
    assert app["amHostHttpAddress"].split(":")[0] in hostnames
    result = json.loads(out.read_text())
    assert result["count"] == 1000
    assert result["driver_host"] in hostnames  # the driver ran in a bed host's namespace
    assert set(result["executor_hosts"]) <= hostnames
    _no_containers_left(cluster)


def test_small_queue_holds_one_app_and_kills_end_killed(yarn_cluster, spark_app, tmp_path):
    cluster = yarn_cluster
    out1, hold = tmp_path / "first.json", tmp_path / "release"
    tag1, tag2 = (f"small-{uuid.uuid4().hex[:8]}" for _ in range(2))
    _submit(cluster, spark_app, str(out1), str(hold), queue="small", tag=tag1)
    first = cluster.wait_app(tag=tag1, states=["RUNNING"], timeout=240)
    _wait(out1.exists, 120, "the first app did not run its Spark job")
    # the first app's driver (and executor) really are container processes on a bed host
    driver_pid = json.loads(out1.read_text())["pid"]
    running = cluster.container_processes()
    assert driver_pid in {pid for pid, _ in running}, running
    assert any(cluster.container_processes(h) for h in cluster.hosts)

    _submit(cluster, spark_app, str(tmp_path / "second.json"), queue="small", tag=tag2)
    second = cluster.wait_app(tag=tag2, states=["ACCEPTED"], timeout=60)
    time.sleep(5)  # it stays queued: the queue's AM limit admits one application
    second = cluster.app(second["id"])
    assert second["state"] == "ACCEPTED"
    assert "AM resource limit exceeded" in second["diagnostics"], second["diagnostics"]
    assert cluster.app(first["id"])["state"] == "RUNNING"

    for app in (second, first):
        status, body = cluster.kill(app["id"])
        assert status in (200, 202), (status, body)
    for app in (first, second):
        final = cluster.wait_app(app["id"], states=["KILLED"], timeout=120)
        assert final["finalStatus"] == "KILLED"
    assert not (tmp_path / "second.json").exists()
    _no_containers_left(cluster)


def test_an_am_exiting_0_without_registering_fails_on_the_real_rm(yarn_cluster):
    """What the emulator must copy (testing/yarn_emulator/recorded/app_failed_unregistered):
    Hadoop fails an attempt whose AM container ends before its AM registered, even with
    exit code 0, and the application after max-app-attempts of them."""
    app_id = yarn_cluster.submit_command("exit 0", name="jrk-unregistered", max_attempts=2)
    app = yarn_cluster.wait_app(app_id, states=["FAILED", "FINISHED"], timeout=180)
    print(json.dumps(app["diagnostics"]))
    assert (app["state"], app["finalStatus"]) == ("FAILED", "FAILED"), app
    second = f"appattempt_{app_id.split('_', 1)[1]}_000002"
    assert app["diagnostics"].startswith(
        f"Application {app_id} failed 2 times due to AM Container for {second} exited with "
        " exitCode: 0\nFailing this attempt.Diagnostics: "
    ), app["diagnostics"]
    status, body = yarn_cluster.rest(f"apps/{app_id}/appattempts")
    assert status == 200
    states = [a["appAttemptState"] for a in body["appAttempts"]["appAttempt"]]
    assert states == ["FAILED", "FAILED"], body


def test_leftovers_are_reported_then_cleared(yarn_cluster, tmp_path):
    """The check after every test (tests/conftest_yarncluster.py): an extra submission
    waiting ACCEPTED in a full queue has no container -- only the RM shows it -- and a
    client process (spark-submit, run.sh) holds this cluster's HADOOP_CONF_DIR; both are
    reported (the test fails), then gone."""
    from ..conftest_yarncluster import check_nothing_left  # noqa: PLC0415

    holder = yarn_cluster.submit_command("sleep 600", name="jrk-holder", queue="small")
    yarn_cluster.wait_app(holder, states=["ACCEPTED"], timeout=60)
    _wait(yarn_cluster.container_processes, 60, "the holder's AM container")
    extra = yarn_cluster.submit_command("sleep 600", name="jrk-extra", queue="small")
    _wait(lambda: "AM resource limit" in yarn_cluster.app(extra)["diagnostics"], 60,
          "the extra application waiting in the full queue")  # fmt: skip
    client = subprocess.Popen(["sleep", "600"], env=yarn_cluster.spark_env())
    try:
        with pytest.raises(pytest.fail.Exception) as failed:
            check_nothing_left(yarn_cluster, grace=1)
    finally:
        client.kill()
        client.wait(10)
    report = str(failed.value)
    print(report)
    assert f"('{extra}', 'ACCEPTED', 'jrk-extra'" in report, report
    assert f"('{holder}', 'ACCEPTED', 'jrk-holder'" in report, report
    assert f"client processes: ({client.pid}, 'sleep 600')" in report, report
    assert "container processes: (" in report, report
    for app_id in (holder, extra):
        assert yarn_cluster.app(app_id)["state"] == "KILLED"
    assert yarn_cluster.leftovers(grace=0) == {
        "applications": [], "container processes": [], "client processes": []}


def test_no_container_left_on_any_host(yarn_cluster):
    """Runs after the others (file order): every container of this session is gone."""
    cluster = yarn_cluster
    _no_containers_left(cluster)
    for host in cluster.hosts:
        assert cluster.container_processes(host) == []
    running = cluster.apps(states=["NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING"])
    assert running == [], [(a["id"], a["state"]) for a in running]
    # The RM counts a node's containers from its heartbeats: the count follows the
    # processes' end by a heartbeat or two (0.5 s each here), a cleanup's by a few more.
    _wait(lambda: all(n["numContainers"] == 0 for n in cluster.nodes()), 30,
          f"the RM still counts containers on the nodes: {cluster.nodes()}")
