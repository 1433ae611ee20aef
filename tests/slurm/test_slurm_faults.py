"""Slurm ends a kernel's job under it: a time limit, a node taken down. The kernel is reported
dead with Slurm's reason (server log and /api/remote-kernels), and nothing is left."""

from __future__ import annotations

import signal

import pytest

from ..server_process import ServerProcess
from ..slurm_helpers import install_slurm_spec, nothing_left, start_kernel, wait_for

pytestmark = pytest.mark.timeout(900)



@pytest.fixture
def srv(tmp_path):
    # No automatic restart: the test sees the death itself, not a replacement kernel.
    server = ServerProcess(
        tmp_path, token="slurm", extra_args=["--KernelRestarter.restart_limit=0"]
    ).start(timeout=60)
    yield server
    server.stop(signal.SIGTERM, timeout=120)


def log_of(server: ServerProcess) -> str:
    return server.log_path.read_text(errors="replace")


def test_time_limit_is_reported_with_slurms_reason(slurm_cluster, tmp_path, srv):
    """A job with a one-minute limit: Slurm ends it (TIMEOUT) and the server says so."""
    install_slurm_spec(slurm_cluster, tmp_path, "slurm-1min", slurm_time="1")
    r = start_kernel(srv, "slurm-1min")
    assert r.status_code == 201, r.text
    kernel_id, job_id = r.json()["id"], r.json()["placement"]["details"]["job_id"]
    assert r.json()["placement"]["details"]["time_left"] not in (None, "UNLIMITED"), r.json()
    said = wait_for(lambda: "hit its time limit" in log_of(srv), 240, 1.0)
    assert said, log_of(srv)[-3000:]
    assert f"Slurm job {job_id} on" in log_of(srv) and "TIMEOUT" in log_of(srv)
    state = slurm_cluster.job(job_id)
    assert state is None or state["JobState"] == "TIMEOUT", state
    assert nothing_left(slurm_cluster, [kernel_id]) == ([], [])
    srv.request("DELETE", f"/api/kernels/{kernel_id}")


def test_node_lost_under_a_kernel_is_reported(slurm_cluster, tmp_path, srv):
    """The kernel's node goes down: the job ends NODE_FAIL and the kernel is reported dead
    with that reason; the job is not requeued (no silent second kernel); nothing is left."""
    install_slurm_spec(slurm_cluster, tmp_path, "slurm-py")
    r = start_kernel(srv, "slurm-py")
    assert r.status_code == 201, r.text
    kernel_id, first = r.json()["id"], r.json()["placement"]
    node = first["host"]
    slurm_cluster.stop_node(node)
    try:
        said = wait_for(lambda: "lost its node" in log_of(srv), 120, 1.0)
        assert said, log_of(srv)[-3000:]
        assert "NODE_FAIL" in log_of(srv)
        row = srv.request("GET", f"/api/remote-kernels/{kernel_id}")
        if row.status_code == 200:  # still listed until Jupyter removes the dead kernel
            assert row.json()["placement"]["phase"] == "dead", row.json()
            assert "lost its node" in row.json()["placement"]["error"]
        assert [j for j in slurm_cluster.jobs() if j["name"] == kernel_id] == []
    finally:
        slurm_cluster.start_node(node)
    srv.request("DELETE", f"/api/kernels/{kernel_id}")
    assert nothing_left(slurm_cluster, [kernel_id]) == ([], [])
