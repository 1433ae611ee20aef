"""The server and its Slurm kernels: stop, SIGKILL + restart (reattach), one squeue per
interval for many kernels (counted at the commands run)."""

from __future__ import annotations

import signal
import stat
import threading
import time
from pathlib import Path

import pytest

from ..kernels import ws_execute
from ..server_process import ServerProcess
from ..slurm_helpers import (
    alive_jobs,
    install_slurm_spec,
    nothing_left,
    placement,
    start_kernel,
    wait_for,
)

pytestmark = pytest.mark.timeout(900)



def counting_bin_dir(folder: Path, log: Path) -> Path:
    """A slurm_bin_dir whose commands log their name and run the installed one."""
    folder.mkdir(parents=True)
    for name in ("sbatch", "squeue", "scancel", "scontrol"):
        real = next(p for d in ("/usr/bin", "/usr/local/bin") if (p := Path(d) / name).exists())
        wrapper = folder / name
        wrapper.write_text(f'#!/bin/sh\necho {name} >> "{log}"\nexec {real} "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return folder


def test_server_stop_cancels_pending_and_stops_running(slurm_cluster, tmp_path):
    """20 concurrent starts on two 1-CPU nodes: two run, the others wait (Resources). One
    squeue per interval follows all of them; a server stop ends every job."""
    log = tmp_path / "commands.log"
    install_slurm_spec(slurm_cluster, tmp_path, "slurm-py", slurm_poll_interval=1.0,
                       slurm_bin_dir=str(counting_bin_dir(tmp_path / "bin", log)),
                       launch_timeout=600)
    srv = ServerProcess(tmp_path, token="slurm").start(timeout=60)
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(start_kernel(srv, "slurm-py")))
               for _ in range(20)]
    try:
        for t in threads:
            t.start()
        followed = wait_for(lambda: len(slurm_cluster.jobs()) == 20, 120)
        assert followed, slurm_cluster.jobs()
        wait_for(lambda: sum(1 for j in slurm_cluster.jobs() if j["state"] == "RUNNING") == 2, 60)
        pending = [j for j in slurm_cluster.jobs() if j["state"] == "PENDING"]
        assert len(pending) == 18 and {j["reason"] for j in pending} <= {"Resources", "Priority"}
        before = log.read_text().split().count("squeue")
        time.sleep(10)
        polls = log.read_text().split().count("squeue") - before
        # One squeue per 1 s interval for all 20 kernels (a round takes a little time).
        assert 5 <= polls <= 11, polls
    finally:
        srv.stop(signal.SIGTERM, timeout=180)
        for t in threads:
            t.join(60)
    assert srv.process.returncode is not None
    jobs, procs = nothing_left(slurm_cluster)
    assert jobs == [] and procs == [], (jobs, procs)


def test_sigkilled_server_reattaches_to_its_slurm_kernel(slurm_cluster, tmp_path):
    """SIGKILL the server: the job keeps running; a new server (reattach on) finds the kernel,
    which still has its state; deleting it ends the job."""
    install_slurm_spec(slurm_cluster, tmp_path, "slurm-py")
    reattach = ["--RemoteMappingKernelManager.reattach_kernels_on_start=True"]  # the default
    first = ServerProcess(tmp_path, token="slurm", extra_args=reattach).start(timeout=60)
    try:
        r = start_kernel(first, "slurm-py")
        assert r.status_code == 201, r.text
        kernel_id, job_id = r.json()["id"], r.json()["placement"]["details"]["job_id"]
        assert ws_execute(first, kernel_id, "x = 'kept'; print(x)") == "kept\n"
    finally:
        first.stop(signal.SIGKILL, timeout=30)
    [job] = alive_jobs(slurm_cluster, kernel_id)
    assert job["id"] == job_id and job["state"] == "RUNNING"

    second = ServerProcess(tmp_path, token="slurm", extra_args=reattach).start(timeout=60)
    try:
        def reattached():
            ids = [k["id"] for k in second.request("GET", "/api/kernels").json()]
            return kernel_id in ids and placement(second, kernel_id)["phase"] == "ready"

        assert wait_for(reattached, 60), second.request("GET", "/api/remote-kernels").json()
        again = placement(second, kernel_id)
        assert again["details"]["job_id"] == job_id and again["phase"] == "ready", again
        assert ws_execute(second, kernel_id, "print(x)") == "kept\n"
        assert second.request("DELETE", f"/api/kernels/{kernel_id}").status_code == 204
        assert nothing_left(slurm_cluster, [kernel_id]) == ([], [])
    finally:
        second.stop(signal.SIGTERM, timeout=120)
