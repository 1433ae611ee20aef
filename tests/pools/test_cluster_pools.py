"""Warm pools on the real YARN and Slurm clusters, through a real Jupyter Server process.

What is left is asserted from the RM's REST answers, ``squeue`` and the hosts' process
tables, never from the server's bookkeeping."""

from __future__ import annotations

import json
import signal

import pytest

from ..kernels import ws_execute
from ..pool_helpers import pool_kernel_ids, pool_of, timed_start, wait_for, wait_full
from ..server_process import ServerProcess
from ..slurm_helpers import install_slurm_spec, nothing_left
from ..yarn_helpers import SPARK_READY, assert_ended, install_spark_spec, leftovers

pytestmark = pytest.mark.timeout(1500)


def set_config(folder, **config) -> None:
    spec = json.loads((folder / "kernel.json").read_text())
    spec["metadata"]["process_proxy"]["config"].update(config)
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))


def start_server(tmp_path, token: str) -> ServerProcess:
    args = ["--RemoteMappingKernelManager.pool_check_interval=2"]
    return ServerProcess(tmp_path, token=token, extra_args=args).start(timeout=60)


def app_ids(server: ServerProcess) -> set[str]:
    models = server.request("GET", "/api/remote-kernels").json()
    return {
        m["placement"]["details"]["app_id"]
        for m in models
        if m["placement"]["details"].get("app_id")
    }


def test_yarn_pooled_spark_kernel_is_ten_times_faster_than_cold(yarn_cluster, tmp_path):
    """A Spark kernelspec with pool_size 1 against the same kernelspec without a pool: the
    pooled start (the YARN application and its kernel already running) is ready at least 10x
    sooner, and runs Spark on the executors; at server stop every application ends and no
    container process is left."""
    install_spark_spec(yarn_cluster, tmp_path, "spark-cold")
    set_config(install_spark_spec(yarn_cluster, tmp_path, "spark-warm"), pool_size=1)
    server = start_server(tmp_path, "yarn-pool")
    apps: set[str] = set()
    try:
        pool = wait_full(server, "spark-warm", timeout=600)
        assert pool["ready"] == 1
        warm = pool_kernel_ids(server, "spark-warm")
        apps |= app_ids(server)
        assert len(apps) == 1  # the pool kernel's application, before anyone asked
        # (its SparkContext starts in the background: then the application is RUNNING)
        pool_app = next(iter(apps))
        assert wait_for(lambda: yarn_cluster.app(pool_app)["state"] == "RUNNING", 180)

        pooled, kernel_id = timed_start(server, "spark-warm")
        assert kernel_id in warm
        cold, cold_id = timed_start(server, "spark-cold")
        assert cold_id not in warm
        apps |= app_ids(server)
        assert cold >= 10 * pooled, (pooled, cold)
        assert ws_execute(server, kernel_id, SPARK_READY, timeout=300) == "1000\n"
        wait_full(server, "spark-warm", timeout=600)
        apps |= app_ids(server)
        assert len(apps) == 3  # the handed-out kernel's, the cold one's, the refill's

        # SIGKILL: the next server reattaches the pool's kernel, launching no new application
        pooled_now = pool_kernel_ids(server, "spark-warm")
        server.stop(signal.SIGKILL)
        server = start_server(tmp_path, "yarn-pool")
        assert wait_full(server, "spark-warm", timeout=120)["ready"] == 1
        assert pool_kernel_ids(server, "spark-warm") == pooled_now
        assert app_ids(server) <= apps  # no application launched twice
        running = yarn_cluster.apps(
            states=["NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING"]
        )
        assert {a["id"] for a in running} <= apps
    finally:
        server.stop(signal.SIGTERM, timeout=180)
    for app_id in apps:
        assert_ended(yarn_cluster, app_id)
    assert leftovers(yarn_cluster) == []


def left_of(cluster, kernel_id: str) -> list:
    """The kernel's job while Slurm shows it alive, and its processes on the nodes."""
    jobs = [j for j in cluster.jobs() if j["name"] == kernel_id]
    return jobs + [p for p in cluster.all_node_processes() if kernel_id in p[1]]


def test_slurm_pool_jobs_respect_the_partition_and_say_why_they_wait(slurm_cluster, tmp_path):
    """On two one-CPU nodes: a pool of 1 holds one node; a request for another partition gets
    a fresh job (on the other node); a start takes the pool's job; grown to 3 (the
    kernelspec edited while the server runs), the pool's extra jobs wait and the pool says so
    with Slurm's reason; server stop leaves no job and no process."""
    folder = install_slurm_spec(slurm_cluster, tmp_path, "slurm-warm", launch_timeout=300)
    set_config(folder, pool_size=1, allowed_partitions=["shared"])
    server = start_server(tmp_path, "slurm-pool")
    ids: set[str] = set()
    try:
        wait_full(server, "slurm-warm", timeout=240)
        warm = pool_kernel_ids(server, "slurm-warm")
        ids |= warm
        assert warm == {j["name"] for j in slurm_cluster.jobs()}  # its job runs already

        r = server.request(
            "POST",
            "/api/kernels",
            {"name": "slurm-warm", "env": {"KERNEL_SLURM_PARTITION": "shared"}},
            timeout=400,
        )
        assert r.status_code == 201, r.text
        fresh = r.json()["id"]
        ids.add(fresh)
        assert fresh not in warm and r.json()["placement"]["details"]["partition"] == "shared"
        assert server.request("DELETE", f"/api/kernels/{fresh}").status_code == 204
        assert wait_for(lambda: not left_of(slurm_cluster, fresh), 60), left_of(
            slurm_cluster, fresh
        )

        _, kernel_id = timed_start(server, "slurm-warm")
        assert kernel_id in warm
        out = ws_execute(server, kernel_id, "import os; print(os.environ['SLURM_JOB_ID'])")
        assert out.strip().isdigit()
        wait_full(server, "slurm-warm", timeout=240)  # the refill took the other node
        ids |= pool_kernel_ids(server, "slurm-warm")

        set_config(folder, pool_size=3)

        def waiting():
            pool = pool_of(server, "slurm-warm")
            reason = "Resources" in pool.get("detail", "") or "Priority" in pool.get("detail", "")
            return pool if pool.get("target") == 3 and reason else None

        pool = wait_for(waiting, 120, 0.5)
        assert pool, pool_of(server, "slurm-warm")
        assert pool["ready"] == 1 and pool["status"] == "filling"
        assert pool["detail"].startswith("a pool kernel is pending ("), pool
        ids |= {m["kernel_id"] for m in server.request("GET", "/api/remote-kernels").json()}
        assert len(slurm_cluster.jobs()) == 4  # 2 running (user's, pool's), 2 pending

        # SIGKILL: the next server reattaches the pool's running job; the pending ones it
        # finds not running are cancelled and launched again, never duplicated
        set_config(folder, pool_size=1)
        assert wait_for(lambda: len(slurm_cluster.jobs()) == 2, 120), slurm_cluster.jobs()
        pooled_now = pool_kernel_ids(server, "slurm-warm")
        server.stop(signal.SIGKILL)
        server = start_server(tmp_path, "slurm-pool")
        assert wait_full(server, "slurm-warm", timeout=120)["ready"] == 1
        assert pool_kernel_ids(server, "slurm-warm") == pooled_now
        assert len(slurm_cluster.jobs()) == 2  # the reattached user's kernel and pool kernel
    finally:
        server.stop(signal.SIGTERM, timeout=180)
    assert nothing_left(slurm_cluster, list(ids)) == ([], [])
    assert nothing_left(slurm_cluster) == ([], [])
