"""Slurm commands against the real Slurm test cluster (sbatch, squeue, sinfo, scontrol,
scancel) and what the tests read from them and from the nodes' processes."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Optional, Union

from testing.sshbed import TestHost

from .deps import SlurmClusterError, binary
from .procs import kill_and_wait

SEP = "\x1f"  # field separator of squeue -o (a job name may hold "|" or spaces)
# squeue -o fields of jobs(): the name last, so it may hold anything
JOB_FIELDS = {"id": "%i", "state": "%T", "reason": "%r", "node": "%N",
              "partition": "%P", "time_left": "%L", "comment": "%k", "name": "%j"}
LIVE_STATES = ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED",
               "REQUEUED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED")
NODE_DAEMONS = ("sshd", "slurmd", "munged")


class CommandsMixin:
    """Commands and process views of :class:`~.cluster.SlurmTestCluster`."""

    def env(self) -> dict[str, str]:
        """What a Slurm command needs to reach this cluster: ``SLURM_CONF`` (slurm.conf
        names the controller's address and munged's socket, ``AuthInfo=socket=...``).
        Merge it over os.environ; never run a Slurm command here without it (with no
        SLURM_CONF the commands look the controller up in DNS SRV records)."""
        return {"SLURM_CONF": str(self.slurm_conf)}

    def run(self, argv: list[str], *, timeout: float = 30, check: bool = True,
            input: Optional[str] = None, cwd: Union[str, Path, None] = None
            ) -> subprocess.CompletedProcess:
        """Run a Slurm command (``["squeue", "-h"]``; the first item is looked up as the
        installed program) with :meth:`env`, in `cwd` (default: the cluster's workdir, so
        sbatch's default ``slurm-<id>.out`` lands there); text output captured. With
        `check`, a non-zero exit raises :class:`SlurmClusterError` with its stderr."""
        argv = [binary(argv[0]), *argv[1:]]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM")}
        env.update(self.env())
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                  env=env, input=input, check=False,
                                  cwd=cwd or self.workdir,
                                  stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            msg = f"{' '.join(argv)!r} did not finish within {timeout}s"
            raise SlurmClusterError(msg) from exc
        if check and proc.returncode:
            msg = (f"{' '.join(argv)!r} failed with exit code {proc.returncode}: "
                   f"{(proc.stderr or proc.stdout).strip()}")
            raise SlurmClusterError(msg)
        return proc

    def sbatch(self, script: str, *options: str) -> str:
        """Submit `script` (text starting with ``#!``) through stdin with ``sbatch
        --parsable`` and `options`; returns the job id."""
        out = self.run(["sbatch", "--parsable", *options], input=script).stdout.strip()
        return out.split(";", 1)[0]

    def jobs(self, all_states: bool = False) -> list[dict]:
        """The cluster's jobs from ``squeue``: dicts with id, name, state (RUNNING,
        PENDING, ...), reason (``Resources``, ``None``, ...), node (``""`` while pending),
        partition, time_left, comment. Live jobs only unless `all_states` (finished jobs
        then too, for MinJobAge = 60 s after their end: COMPLETED, CANCELLED, TIMEOUT,
        NODE_FAIL, FAILED)."""
        fmt = SEP.join(JOB_FIELDS.values())
        argv = ["squeue", "-h", "-a", "-o", fmt]
        argv += ["-t", "all"] if all_states else []
        out = []
        for line in self.run(argv).stdout.splitlines():
            values = line.split(SEP, len(JOB_FIELDS) - 1)
            if len(values) == len(JOB_FIELDS):
                job = dict(zip(JOB_FIELDS, values))
                job["node"] = "" if job["node"] in ("", "(null)") else job["node"]
                job["comment"] = "" if job["comment"] == "(null)" else job["comment"]
                out.append(job)
        return out

    def job(self, job_id: Union[str, int]) -> Optional[dict]:
        """``scontrol show job -o`` of `job_id` as a dict (JobState, Reason, NodeList,
        ExitCode, ...); None once the controller forgot it (MinJobAge after its end)."""
        proc = self.run(["scontrol", "show", "job", "-o", str(job_id)], check=False)
        if proc.returncode:
            if "Invalid job id" in proc.stderr:
                return None
            msg = f"scontrol show job {job_id} failed: {proc.stderr.strip()}"
            raise SlurmClusterError(msg)
        out = {}
        for item in proc.stdout.split():
            key, sep, value = item.partition("=")
            if sep:
                out[key] = value
        return out

    def wait_job(self, job_id: Union[str, int], states: tuple[str, ...],
                 timeout: float = 60) -> dict:
        """Wait until `job_id` is in one of `states` (JobState of scontrol); returns its
        scontrol dict. Raises naming the last state seen."""
        deadline = time.monotonic() + timeout
        job = None
        while time.monotonic() < deadline:
            self.check_alive()
            job = self.job(job_id)
            if job and job.get("JobState") in states:
                return job
            time.sleep(0.2)
        last = job and (job.get("JobState"), job.get("Reason"))
        msg = f"job {job_id} not in {states} within {timeout}s (last: {last})"
        raise SlurmClusterError(msg)

    def node_states(self) -> dict[str, str]:
        """{node name: sinfo state} (``idle``, ``alloc``, ``mix``, ``down*``, ...)."""
        out = self.run(["sinfo", "-h", "-N", "-o", "%N %T"]).stdout
        return dict(line.split(None, 1) for line in out.splitlines() if " " in line)

    def node_processes(self, host: Union[TestHost, str]) -> list[tuple[int, str]]:
        """(pid, cmdline) of every process on the node `host` (bed host or its name)
        other than its sshd (and sshd sessions), slurmd and munged: job scripts, their
        children, slurmstepd. Empty = nothing of any job is left there."""
        host = self.host_of(host)
        skip = {self.slurmd_pid(host)}
        out = []
        for pid, cmd in host.processes():
            prog = os.path.basename(cmd.split(" ", 1)[0]) if cmd else ""
            if pid in skip or prog in NODE_DAEMONS or cmd.startswith("sshd:"):
                continue
            out.append((pid, cmd))
        return out

    def job_processes(self, job_id: Union[str, int]) -> list[tuple[int, str]]:
        """(pid, cmdline) of the processes of job `job_id` on the nodes: those whose
        environment has ``SLURM_JOB_ID=<job_id>`` (the job script and what it started;
        slurmstepd itself has no such variable)."""
        want = f"SLURM_JOB_ID={job_id}".encode()
        out = []
        for pid, cmd in self.all_node_processes():
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if want in environ:
                out.append((pid, cmd))
        return out

    def wait_launched(self, job_id: Union[str, int], timeout: float = 60) -> list[tuple[int, str]]:
        """Wait until job `job_id` runs on its node (its processes exist: RUNNING in squeue
        is the controller's word, before the node confirmed the launch); returns them.
        Raises naming the job's end and the nodes' log lines about it when the job ended
        first (e.g. Slurm cancelled it: "Could not confirm batch launch" when the node's
        confirmation came after MessageTimeout)."""
        deadline = time.monotonic() + timeout
        job: Optional[dict] = None
        while time.monotonic() < deadline:
            self.check_alive()
            found = self.job_processes(job_id)
            if found:
                return found
            job = self.job(job_id)
            if job is not None and job.get("JobState") not in LIVE_STATES:
                break
            time.sleep(0.1)
        said = [line for h in self.hosts if self.node_log(h).exists()
                for line in self.node_log(h).read_text(errors="replace").splitlines()
                if f"job {job_id} " in line or f"JobId={job_id} " in line]
        last = job and (job.get("JobState"), job.get("Reason"), job.get("NodeList"))
        when = ("ended before any process of it ran" if job and job.get("JobState")
                not in LIVE_STATES else f"has no process on its node within {timeout}s")
        msg = f"job {job_id} {when} (last: {last}); the nodes' logs about it: {said[-5:]}"
        raise SlurmClusterError(msg)

    def all_node_processes(self) -> list[tuple[int, str]]:
        """:meth:`node_processes` of every node whose host is up."""
        return [p for h in self.hosts if h.is_running for p in self.node_processes(h)]

    def clear(self, timeout: float = 60) -> list[dict]:
        """``scancel`` every job of the cluster and wait until no job is alive in squeue
        and no job process is left on a node (the ones left at `timeout` are SIGKILLed),
        so what one test left cannot fail the next. Returns the jobs that were alive."""
        alive = self.jobs()
        if alive:
            self.run(["scancel", *[j["id"] for j in alive]], check=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (self.jobs() or self.all_node_processes()):
            time.sleep(0.2)
        kill_and_wait([pid for pid, _ in self.all_node_processes()])
        return alive

