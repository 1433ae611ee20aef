"""A job that reaches its time limit on the real Slurm cluster (slow: Slurm's smallest limit
is one minute, and slurmctld checks limits every 30 s, so this takes 60-90 s)."""

from __future__ import annotations

import time


def test_time_limit_ends_the_job_timeout_and_its_processes(slurm_cluster):
    slurm = slurm_cluster
    job_id = slurm.sbatch("#!/bin/sh\nsleep 300\n", "-J", "limited", "--time=1")
    try:
        node = slurm.wait_job(job_id, ("RUNNING",), 30)["NodeList"]
        t0 = time.monotonic()
        job = slurm.wait_job(job_id, ("TIMEOUT", "CANCELLED", "COMPLETED", "FAILED"), 150)
        print(f"TIMEOUT {time.monotonic() - t0:.0f} s after RUNNING")
        assert (job["JobState"], job["Reason"]) == ("TIMEOUT", "TimeLimit"), job
        deadline = time.monotonic() + 30
        while slurm.node_processes(node) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert slurm.node_processes(node) == []
    finally:
        slurm.clear()
