"""Slurm ends a kernel's job under it: a time limit, a node taken down. The kernel is reported
dead with Slurm's reason (server log and /api/remote-kernels), and nothing is left."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from ..server_process import ServerProcess
from ..slurm_helpers import install_slurm_spec, nothing_left, start_kernel, wait_for

pytestmark = pytest.mark.timeout(900)

#: Every state a job ends in (scontrol's JobState): the tests wait for any, then say which.
ENDED = ("TIMEOUT", "NODE_FAIL", "FAILED", "CANCELLED", "COMPLETED", "PREEMPTED", "OUT_OF_MEMORY")


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
    # Slurm's own word (scontrol keeps an ended job MinJobAge = 60 s: polled, it is seen).
    job = slurm_cluster.wait_job(job_id, ENDED, timeout=240)
    assert (job["JobState"], job["Reason"]) == ("TIMEOUT", "TimeLimit"), job
    said = wait_for(lambda: "hit its time limit" in log_of(srv), 30, 1.0)
    assert said, log_of(srv)[-3000:]
    assert f"Slurm job {job_id} on" in log_of(srv) and "TIMEOUT" in log_of(srv)
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
        # Slurm's own word on the job first, then what the server made of it.
        job = slurm_cluster.wait_job(first["details"]["job_id"], ENDED, timeout=120)
        assert (job["JobState"], job["Reason"], job["NodeList"]) == (
            "NODE_FAIL", "NodeDown", node), job  # fmt: skip
        assert slurm_cluster.node_states()[node].startswith("down"), slurm_cluster.node_states()
        said = wait_for(lambda: "lost its node" in log_of(srv), 60, 1.0)
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


def test_a_job_cancelled_while_pending_fails_the_start_saying_so(slurm_cluster, tmp_path, srv):
    """Someone else cancels the kernel's job while Slurm holds it (``--begin`` an hour
    ahead: pending, reason BeginTime): the start fails at once (not at the launch timeout)
    with Slurm's state and what to do about a cancellation, not advice about the node's
    Python; nothing is left."""
    install_slurm_spec(slurm_cluster, tmp_path, "slurm-later",
                       slurm_extra_options=["--begin=now+1hour"])  # fmt: skip
    answer: dict[str, object] = {}
    starting = threading.Thread(target=lambda: answer.update(r=start_kernel(srv, "slurm-later")))
    starting.start()

    def held():
        return [j for j in slurm_cluster.jobs() if j["state"] == "PENDING"
                and j["reason"] == "BeginTime"]  # fmt: skip

    [job] = wait_for(held, 60) or [None]
    assert job is not None, slurm_cluster.jobs()
    slurm_cluster.run(["scancel", job["id"]])
    begun = time.monotonic()
    starting.join(120)
    r = answer["r"]
    assert time.monotonic() - begun < 30, "the start waited for its launch timeout"
    assert r.status_code >= 500, r.text
    message = r.json()["message"]
    assert f"Slurm job {job['id']} of kernel" in message, message
    assert "was cancelled (Slurm state CANCELLED" in message, message
    assert "start the kernel again" in message and "ipykernel" not in message, message
    assert nothing_left(slurm_cluster) == ([], [])
