"""Spark kernels on a real Apache Hadoop YARN cluster, through a real `jupyter server`.

The cluster (testing/yarncluster: one ResourceManager, one NodeManager in each network-namespace
host) runs real containers; the kernelspec is the shipped ``yarn_spark`` template installed
with ``jupyter remote-kernels install yarn --spark-home <pyspark>``, so ``spark-submit
--master yarn --deploy-mode cluster`` really submits, Spark's ApplicationMaster really
registers once the kernel creates its SparkContext, and the NodeManager really writes
``launch_container.sh``. What is left is asserted from the RM's REST answers and the hosts'
process tables, never from the server's bookkeeping.
"""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest

from ..abuse import COUNTS
from ..kernels import wait_for, ws_execute
from ..server_process import ServerProcess
from ..yarn_helpers import (
    FINAL,
    LAUNCH_TIMEOUT,
    SPARK_COUNT,
    assert_ended,
    assert_spark_on_executors,
    install_spark_spec,
    interrupt_sleep,
    leftovers,
    start_kernel,
    start_waiting,
)

WEIRD = 'a "quoted" $HOME `id` \\back slash'

pytestmark = pytest.mark.timeout(1500)






def placement(server: ServerProcess, kernel_id: str) -> dict:
    return server.request("GET", f"/api/remote-kernels/{kernel_id}").json()["placement"]








@pytest.fixture
def server(tmp_path):
    started: list[ServerProcess] = []

    def make() -> ServerProcess:
        started.append(ServerProcess(tmp_path, token="yarn-real").start(timeout=60))
        return started[-1]

    yield make
    for one in started:  # SIGTERM: a server stop shuts its kernels down (SIGKILL after 120 s)
        one.stop(signal.SIGTERM, timeout=120)


def test_spark_kernel_lifecycle_on_the_real_cluster(yarn_cluster, tmp_path, server):
    """start -> ready, spark on executors, a shell-hostile KERNEL_* value, interrupt,
    restart, delete; every application ends in the RM and no container process stays.
    The user's --files in SPARK_OPTS and the launcher's sibling modules both reach the
    driver's working directory (run.sh merges them into spark-submit's one --files)."""
    folder = install_spark_spec(yarn_cluster, tmp_path, "spark")
    (tmp_path / "jrk_user_data.txt").write_text("user data\n")
    spec = json.loads((folder / "kernel.json").read_text())
    spec["env"]["SPARK_OPTS"] += f" --files {tmp_path / 'jrk_user_data.txt'}"
    (folder / "kernel.json").write_text(json.dumps(spec))
    srv = server()
    host_names = {h.hostname for h in yarn_cluster.hosts}
    model = start_kernel(srv, "spark", KERNEL_WEIRD=WEIRD)
    kernel_id, first = model["id"], model["placement"]
    assert first["kind"] == "yarn" and first["phase"] == "ready", first
    # Hadoop 3.5 names a queue by its path
    app_id = first["details"]["app_id"]
    assert first["details"]["queue"] == "root.default" and app_id.startswith("application_")
    assert first["where"] == f"yarn · {app_id} on {first['host']}", first
    assert list(first["details"]) == ["app_id", "queue", "tracking_url"], first
    app = yarn_cluster.app(first["details"]["app_id"])
    assert kernel_id in app["applicationTags"].split(","), app

    assert ws_execute(srv, kernel_id, SPARK_COUNT, timeout=LAUNCH_TIMEOUT) == "1000\n"
    assert wait_for(lambda: yarn_cluster.app(app_id)["state"] == "RUNNING", 60)
    assert_spark_on_executors(srv, kernel_id, yarn_cluster, app_id)
    # (and no warning of PySpark's above: the siblings are not in spark.submit.pyFiles)
    out = ws_execute(srv, kernel_id, "import os\nprint(open('jrk_user_data.txt').read())\n"
                     "print(sorted(f for f in os.listdir('.') if f.endswith('.py')))")
    assert out.splitlines()[0] == "user data"
    assert out.splitlines()[-1] == (
        "['jrk_launcher_comm.py', 'jrk_launcher_kernel.py', 'jrk_launcher_prepare.py', "
        "'jrk_launcher_spark.py', "
        "'launch_ipykernel.py']"
    )
    out = ws_execute(srv, kernel_id, "import os, socket\nprint(repr(os.environ['KERNEL_WEIRD']))"
                     "\nprint(socket.gethostname())")  # fmt: skip
    weird, hostname = out.splitlines()
    assert weird == repr(WEIRD)  # through the real NodeManager's launch_container.sh
    assert hostname in host_names, (hostname, host_names)

    reply = interrupt_sleep(srv, kernel_id)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", reply

    assert ws_execute(srv, kernel_id, "x = 42; print(x)") == "42\n"
    r = srv.request("POST", f"/api/kernels/{kernel_id}/restart", timeout=LAUNCH_TIMEOUT + 60)
    assert r.status_code == 200, r.text
    assert_ended(yarn_cluster, first["details"]["app_id"])
    second = placement(srv, kernel_id)
    assert second["phase"] == "ready", second
    assert second["details"]["app_id"] != first["details"]["app_id"], second
    assert ws_execute(srv, kernel_id, "print('x' in dir())") == "False\n"

    r = srv.request("DELETE", f"/api/kernels/{kernel_id}")
    assert r.status_code == 204, r.text
    assert_ended(yarn_cluster, second["details"]["app_id"])
    left = leftovers(yarn_cluster)
    COUNTS["leaked"] += len(left)
    assert not left


def test_four_concurrent_spark_kernels_lazy_and_eager(yarn_cluster, tmp_path, server):
    install_spark_spec(yarn_cluster, tmp_path, "spark-lazy", mode="lazy")
    install_spark_spec(yarn_cluster, tmp_path, "spark-eager", mode="eager")
    srv = server()
    models: list = []
    errors: list = []

    def one(name: str) -> None:
        try:
            models.append(start_kernel(srv, name))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in ("spark-lazy", "spark-eager") * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(LAUNCH_TIMEOUT + 120)
    assert not errors, errors
    assert len(models) == 4
    apps = {m["placement"]["details"]["app_id"] for m in models}
    assert len(apps) == 4
    for model in models:  # each kernel's first cell, as a user runs it: no waiting first
        assert ws_execute(srv, model["id"], SPARK_COUNT, timeout=LAUNCH_TIMEOUT) == "1000\n"
        code = "print(sc.parallelize(range(10)).sum())"
        assert ws_execute(srv, model["id"], code, timeout=LAUNCH_TIMEOUT) == "45\n"
    for model in models:
        assert srv.request("DELETE", f"/api/kernels/{model['id']}").status_code == 204
    for app_id in apps:
        assert_ended(yarn_cluster, app_id)
    assert not leftovers(yarn_cluster)


def test_mode_none_is_refused_before_yarn_would_time_out(yarn_cluster, tmp_path, server):
    """Spark's AM registers only once a SparkContext exists: `none` can never get RUNNING."""
    install_spark_spec(yarn_cluster, tmp_path, "spark-none", mode="none")
    srv = server()
    t0 = time.monotonic()
    r = srv.request("POST", "/api/kernels", {"name": "spark-none"}, timeout=LAUNCH_TIMEOUT)
    took = time.monotonic() - t0
    assert r.status_code == 500, r.text
    message = r.json()["message"]
    assert "--spark-context-initialization-mode none" in message, message
    assert "SparkContext" in message and "lazy" in message
    assert took < 100, took  # the point: before spark.yarn.am.waitTime would fail it
    assert not yarn_cluster.apps(states=["NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING"])


def test_queue_full_then_timeout_names_the_queue(yarn_cluster, tmp_path, server):
    """`small` admits one application: the second kernel shows `pending` with the RM's
    diagnostics, then times out with an error naming the queue, and its app is killed."""
    install_spark_spec(yarn_cluster, tmp_path, "spark-small", queue="small")
    spec = install_spark_spec(yarn_cluster, tmp_path, "spark-small-short", queue="small",
                              launch_timeout=60)  # fmt: skip
    srv = server()
    first = start_kernel(srv, "spark-small")
    waiting, outcome = start_waiting(srv, spec.name)

    def queued():
        for model in srv.request("GET", "/api/remote-kernels").json():
            p = model["placement"]
            if model["kernel_name"] == spec.name and p["phase"] == "pending":
                return model
        return None

    model = wait_for(queued, 60)
    assert model, srv.request("GET", "/api/remote-kernels").json()
    p = model["placement"]
    assert p["details"]["queue"] == "root.small" and "AM resource limit" in (p["detail"] or ""), p
    waiting.join(200)
    r = outcome[0]
    assert r.status_code == 504, r.text
    message = r.json()["message"]
    assert "queue 'root.small'" in message and "launch_timeout" in message, message
    app = assert_ended(yarn_cluster, p["details"]["app_id"])
    assert app["state"] == "KILLED", app
    COUNTS["faults"] += 1
    assert srv.request("DELETE", f"/api/kernels/{first['id']}").status_code == 204
    assert_ended(yarn_cluster, first["placement"]["details"]["app_id"])
    assert not leftovers(yarn_cluster)


def test_am_failure_carries_yarn_diagnostics(yarn_cluster, tmp_path, server):
    """A bad PYSPARK_PYTHON: the AM fails; the error has YARN's diagnostics and its logs."""
    install_spark_spec(yarn_cluster, tmp_path, "spark-bad", python="/nonexistent/python3")
    srv = server()
    r = srv.request("POST", "/api/kernels", {"name": "spark-bad"}, timeout=LAUNCH_TIMEOUT + 60)
    assert r.status_code == 500, r.text
    message = r.json()["message"]
    print(message)
    assert "YARN diagnostics:" in message and "Logs:" in message, message
    assert "application_" in message
    COUNTS["faults"] += 1
    assert not leftovers(yarn_cluster)


def test_server_sigkill_reattach_then_sigterm(yarn_cluster, tmp_path, server):
    install_spark_spec(yarn_cluster, tmp_path, "spark")
    srv = server()
    model = start_kernel(srv, "spark")
    kernel_id, app_id = model["id"], model["placement"]["details"]["app_id"]
    assert ws_execute(srv, kernel_id, "x = 41; print(x)", timeout=120) == "41\n"
    srv.stop(signal.SIGKILL)
    COUNTS["faults"] += 1
    assert yarn_cluster.app(app_id)["state"] in ("ACCEPTED", "RUNNING")  # outlives the server

    srv = server()
    ids = wait_for(
        lambda: [k["id"] for k in srv.request("GET", "/api/kernels").json()] == [kernel_id], 60
    )
    assert ids, srv.request("GET", "/api/kernels").json()
    assert placement(srv, kernel_id)["details"]["app_id"] == app_id
    assert ws_execute(srv, kernel_id, "print(x)", timeout=120) == "41\n"

    srv.stop(signal.SIGTERM, timeout=120)
    assert srv.process.returncode is not None
    assert_ended(yarn_cluster, app_id)
    assert not leftovers(yarn_cluster)


def test_nodemanager_stopped_under_a_kernel(yarn_cluster, tmp_path, server):
    """The node goes away: the kernel is reported dead with YARN's reason; nothing stays."""
    install_spark_spec(yarn_cluster, tmp_path, "spark")
    srv = server()
    model = start_kernel(srv, "spark")
    kernel_id, app_id = model["id"], model["placement"]["details"]["app_id"]
    app = yarn_cluster.app(app_id)
    node = app["amHostHttpAddress"].rpartition(":")[0]
    host = next(h for h in yarn_cluster.hosts if node in (h.address, h.hostname))
    other = next(h for h in yarn_cluster.hosts if h is not host)
    try:
        yarn_cluster.stop_nodemanager(host, signal.SIGTERM)
        COUNTS["faults"] += 1
        ended = wait_for(lambda: yarn_cluster.app(app_id)["state"] in FINAL, 120)
        assert ended, yarn_cluster.app(app_id)
        # Nothing of the kernel stays on the node that went away.
        assert wait_for(lambda: not yarn_cluster.container_processes(host), 60)
        # Reported with YARN's reason (the server log is what an admin reads), then
        # restarted by Jupyter's restarter on the node that is left.
        def reported() -> bool:
            log = srv.log_path.read_text(errors="replace")
            return f"YARN application {app_id}" in log and "died" in log

        assert wait_for(reported, 60), srv.log_path.read_text()[-3000:]
        restarted = wait_for(
            lambda: (p := placement(srv, kernel_id))["phase"] == "ready"
            and p["details"]["app_id"] not in (None, app_id) and p, LAUNCH_TIMEOUT)  # fmt: skip
        assert restarted, placement(srv, kernel_id)
        am_address = yarn_cluster.app(restarted["details"]["app_id"])["amHostHttpAddress"]
        am_node = am_address.rpartition(":")[0]
        assert am_node in (other.address, other.hostname), am_node
        assert ws_execute(srv, kernel_id, "print(1 + 1)", timeout=120) == "2\n"
    finally:
        yarn_cluster.start_nodemanager(host)
    assert srv.request("DELETE", f"/api/kernels/{kernel_id}").status_code == 204
    assert not leftovers(yarn_cluster)
