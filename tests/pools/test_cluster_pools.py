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
    return {m["placement"]["app_id"] for m in models if m["placement"].get("app_id")}


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
        assert len(apps) == 1  # the pool kernel's application, RUNNING before anyone asked
        assert yarn_cluster.app(next(iter(apps)))["state"] == "RUNNING"

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
    finally:
        server.stop(signal.SIGTERM, timeout=180)
    for app_id in apps:
        assert_ended(yarn_cluster, app_id)
    assert leftovers(yarn_cluster) == []


def test_slurm_pool_jobs_respect_the_partition_and_say_why_they_wait(slurm_cluster, tmp_path):
    """pool_size 3 on a partition of two one-CPU nodes: two pool jobs run, the third waits
    and the pool says so with Slurm's reason; a start takes a running one; a request for
    another partition gets a fresh job; server stop leaves no job and no process."""
    folder = install_slurm_spec(slurm_cluster, tmp_path, "slurm-warm", launch_timeout=300)
    set_config(folder, pool_size=3, allowed_partitions=["shared"])
    server = start_server(tmp_path, "slurm-pool")
    ids: set[str] = set()
    try:

        def waiting():
            pool = pool_of(server, "slurm-warm")
            return pool if pool.get("ready") == 2 and "pending" in pool["detail"] else None

        pool = wait_for(waiting, 240, 0.5)
        assert pool, pool_of(server, "slurm-warm")
        assert "Resources" in pool["detail"] or "Priority" in pool["detail"], pool
        warm = pool_kernel_ids(server, "slurm-warm")
        ids |= warm
        jobs = {j["name"] for j in slurm_cluster.jobs()}
        assert warm <= jobs and len(jobs) == 3  # two running pool jobs and one pending

        _, kernel_id = timed_start(server, "slurm-warm")
        assert kernel_id in warm
        out = ws_execute(server, kernel_id, "import os; print(os.environ['SLURM_JOB_ID'])")
        assert out.strip().isdigit()
        r = server.request(
            "POST",
            "/api/kernels",
            {"name": "slurm-warm", "env": {"KERNEL_SLURM_PARTITION": "shared"}},
            timeout=400,
        )
        assert r.status_code == 201, r.text
        fresh = r.json()["id"]
        ids.add(fresh)
        assert fresh not in warm and r.json()["placement"]["partition"] == "shared"
        ids |= {m["kernel_id"] for m in server.request("GET", "/api/remote-kernels").json()}
    finally:
        server.stop(signal.SIGTERM, timeout=180)
    assert nothing_left(slurm_cluster, list(ids)) == ([], [])
    assert nothing_left(slurm_cluster) == ([], [])
