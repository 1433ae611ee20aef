"""Kernels as jobs on a real Slurm cluster, through a real `jupyter server`.

The cluster (testing/slurmcluster: munged, slurmctld, one slurmd in each network-namespace
host, one CPU per node) schedules real batch jobs; the kernelspec is the shipped ``slurm``
template installed with ``jupyter remote-kernels install slurm``. What is left is asserted
from squeue and the nodes' process tables.
"""

from __future__ import annotations

import re
import signal
import threading
from pathlib import Path

import pytest

from ..abuse import COUNTS
from ..kernels import ws_execute
from ..server_process import ServerProcess, free_port
from ..slurm_helpers import (
    alive_jobs,
    install_slurm_spec,
    nothing_left,
    placement,
    start_kernel,
    wait_for,
)
from ..yarn_helpers import interrupt_sleep

WEIRD = "a \"quoted\" $HOME `id` $(touch /tmp/jrk-slurm-pwned) 'single' \\back"

pytestmark = pytest.mark.timeout(900)



@pytest.fixture
def server(tmp_path):
    started: list[ServerProcess] = []

    def make() -> ServerProcess:
        started.append(ServerProcess(tmp_path, token="slurm").start(timeout=60))
        return started[-1]

    yield make
    for one in started:
        one.stop(signal.SIGTERM, timeout=120)


def test_slurm_kernel_lifecycle(slurm_cluster, tmp_path, server):
    """start -> ready on a node Slurm chose, execute there with a shell-hostile KERNEL_*
    value, interrupt, restart (a new job), delete; every job ended, nothing on the nodes."""
    install_slurm_spec(slurm_cluster, tmp_path, "slurm-py")
    srv = server()
    r = start_kernel(srv, "slurm-py", KERNEL_WEIRD=WEIRD)
    assert r.status_code == 201, r.text
    kernel_id, first = r.json()["id"], r.json()["placement"]
    assert first["kind"] == "slurm" and first["phase"] == "ready", first
    assert first["details"]["partition"] == "debug" and first["details"]["job_id"], first
    assert first["host"] in slurm_cluster.node_names, first
    [job] = alive_jobs(slurm_cluster, kernel_id)
    assert job["id"] == first["details"]["job_id"] and job["state"] == "RUNNING", job

    out = ws_execute(srv, kernel_id, "import os, socket\nprint(repr(os.environ['KERNEL_WEIRD']))"
                     "\nprint(socket.gethostname())")  # fmt: skip
    weird, hostname = out.splitlines()
    assert weird == repr(WEIRD)
    assert hostname == first["host"]  # the kernel runs on the node Slurm placed the job on

    reply = interrupt_sleep(srv, kernel_id)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", reply
    assert reply["interrupts_sent"] == 1

    assert ws_execute(srv, kernel_id, "x = 42; print(x)") == "42\n"
    r = srv.request("POST", f"/api/kernels/{kernel_id}/restart", timeout=200)
    assert r.status_code == 200, r.text
    second = placement(srv, kernel_id)
    assert second["phase"] == "ready", second
    assert second["details"]["job_id"] != first["details"]["job_id"], second
    assert [j["id"] for j in alive_jobs(slurm_cluster, kernel_id)] == [second["details"]["job_id"]]
    assert ws_execute(srv, kernel_id, "print('x' in dir())") == "False\n"

    r = srv.request("DELETE", f"/api/kernels/{kernel_id}")
    assert r.status_code == 204, r.text
    jobs, procs = nothing_left(slurm_cluster, [kernel_id])
    COUNTS["leaked"] += len(procs)
    assert jobs == [] and procs == [], (jobs, procs)
    ended = {j["id"]: j["state"] for j in slurm_cluster.jobs(all_states=True)
             if j["name"] == kernel_id}  # fmt: skip
    assert set(ended) == {first["details"]["job_id"], second["details"]["job_id"]}, ended
    assert set(ended.values()) <= {"COMPLETED", "CANCELLED"}, ended


def test_busy_cluster_pending_then_running_then_timeout(slurm_cluster, tmp_path, server):
    """Two concurrent starts fill both 1-CPU nodes; a third shows ``pending (Resources)`` in
    /api/remote-kernels and starts once a kernel is deleted; a fourth, with a short launch
    timeout, is cancelled with an error naming the partition and Slurm's reason."""
    install_slurm_spec(slurm_cluster, tmp_path, "slurm-py")
    srv = server()
    results: dict[str, object] = {}

    def start(key: str, **env: str) -> None:
        results[key] = start_kernel(srv, "slurm-py", **env)

    pair = [threading.Thread(target=start, args=(k,)) for k in ("a", "b")]
    for t in pair:
        t.start()
    for t in pair:
        t.join(200)
    a, b = results["a"], results["b"]
    assert a.status_code == 201 and b.status_code == 201, (a.text, b.text)
    hosts = {a.json()["placement"]["host"], b.json()["placement"]["host"]}
    assert hosts == set(slurm_cluster.node_names), hosts

    third = threading.Thread(target=start, args=("c",))
    third.start()

    def pending():
        rows = srv.request("GET", "/api/remote-kernels").json()
        rows = rows if isinstance(rows, list) else rows.get("kernels", [])
        return [k for k in rows if k["placement"]["phase"] == "pending"
                and k["placement"]["detail"] == "Resources"]

    shown = wait_for(pending, 60)
    assert shown and shown[0]["placement"]["detail"] == "Resources", shown
    pending_id = shown[0]["kernel_id"]
    [job] = alive_jobs(slurm_cluster, pending_id)
    assert job["state"] == "PENDING" and job["reason"] == "Resources", job

    assert srv.request("DELETE", f"/api/kernels/{a.json()['id']}").status_code == 204
    third.join(200)
    c = results["c"]
    assert c.status_code == 201, c.text
    assert c.json()["id"] == pending_id and c.json()["placement"]["phase"] == "ready"

    d = start_kernel(srv, "slurm-py", KERNEL_LAUNCH_TIMEOUT="6")
    assert d.status_code == 504, d.text
    message = d.json()["message"]
    assert "pending in partition debug" in message and "Resources" in message, message
    assert "cancelled" in message, message
    for kernel in (b.json()["id"], c.json()["id"]):
        assert srv.request("DELETE", f"/api/kernels/{kernel}").status_code == 204
    jobs, procs = nothing_left(slurm_cluster)
    assert jobs == [] and procs == [], (jobs, procs)


@pytest.mark.parametrize(
    ("env", "status", "words"),
    [
        ({"KERNEL_SLURM_PARTITION": "short"}, 403, "allowed_partitions"),
        ({"KERNEL_SLURM_TIME": "10:00:00"}, 403, "max_time"),
        ({"KERNEL_SLURM_TIME": "2:00:00; scancel -u root"}, 400, "not a Slurm time limit"),
        ({"KERNEL_SLURM_PARTITION": "debug --uid=0"}, 400, "one partition"),
    ],
)
def test_requests_beyond_the_admins_limits_are_refused(slurm_cluster, tmp_path, server, env,
                                                       status, words):
    """Nothing is submitted for a refused request; the error names the limit."""
    install_slurm_spec(slurm_cluster, tmp_path, "slurm-py", allowed_partitions=["debug"],
                       max_time="1:00:00")
    srv = server()
    before = {j["id"] for j in slurm_cluster.jobs(all_states=True)}
    r = start_kernel(srv, "slurm-py", **env)
    assert r.status_code == status, r.text
    assert words in r.json()["message"], r.text
    # none submitted (finished jobs of earlier tests may leave the list meanwhile)
    assert {j["id"] for j in slurm_cluster.jobs(all_states=True)} - before == set()


def test_allowed_partition_and_time_are_taken(slurm_cluster, tmp_path, server):
    install_slurm_spec(slurm_cluster, tmp_path, "slurm-py", allowed_partitions=["short"],
                       max_time="4:00")
    srv = server()
    r = start_kernel(srv, "slurm-py", KERNEL_SLURM_PARTITION="short", KERNEL_SLURM_TIME="3:00")
    assert r.status_code == 201, r.text
    kernel_id = r.json()["id"]
    [job] = alive_jobs(slurm_cluster, kernel_id)
    assert job["partition"] == "short", job
    assert slurm_cluster.job(job["id"])["TimeLimit"] == "00:03:00"
    assert srv.request("DELETE", f"/api/kernels/{kernel_id}").status_code == 204
    assert nothing_left(slurm_cluster, [kernel_id]) == ([], [])


def unreachable_conf(cluster, tmp_path) -> str:
    """The cluster's slurm.conf with a controller port nothing listens on."""
    conf = Path(cluster.env()["SLURM_CONF"]).read_text()
    port = free_port()
    changed = re.sub(r"^SlurmctldPort=\d+$", f"SlurmctldPort={port}", conf, flags=re.M)
    assert changed != conf
    path = tmp_path / "unreachable.conf"
    path.write_text(changed)
    return str(path)


@pytest.mark.parametrize("case", ["refused", "unreachable"])
def test_rejected_or_unreachable_submission_is_a_clear_error(slurm_cluster, tmp_path, server,
                                                             case):
    """sbatch refuses the job (a node that does not exist), or no controller answers: the
    start fails at once with what Slurm said and what to check; no job is left."""
    if case == "refused":
        config = {"slurm_extra_options": ["--nodelist=no-such-node"]}
    else:
        config = {"slurm_conf": unreachable_conf(slurm_cluster, tmp_path),
                  "slurm_command_timeout": 20}
    install_slurm_spec(slurm_cluster, tmp_path, "slurm-bad", **config)
    srv = server()
    before = {j["id"] for j in slurm_cluster.jobs(all_states=True)}
    r = start_kernel(srv, "slurm-bad")
    assert r.status_code in (500, 502), r.text
    message = r.json()["message"]
    if case == "refused":
        assert "Slurm refused the job" in message and "Invalid node name" in message, message
    else:
        assert "slurmctld" in message or "Unable to contact" in message, message
    assert {j["id"] for j in slurm_cluster.jobs(all_states=True)} - before == set()
