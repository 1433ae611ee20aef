"""The real Slurm test cluster's files: the munge key and ``slurm.conf``."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

from testing.sshbed import TestHost

# A finished job stays visible in squeue / scontrol for MIN_JOB_AGE seconds (there is no
# slurmdbd, so no sacct): long enough for a test or a provisioner's poll to read how it
# ended (COMPLETED, CANCELLED, TIMEOUT, NODE_FAIL), short enough not to pile up.
MIN_JOB_AGE = 60
# A node's slurmd that stops answering is DOWN (its jobs NODE_FAIL) after about this long;
# slurmctld pings every SLURMD_TIMEOUT/3 s.
SLURMD_TIMEOUT = 10
# Seconds between SIGTERM and SIGKILL when scancel or a time limit ends a job.
KILL_WAIT = 5
# Seconds slurmctld waits for a node's answer to an RPC (Slurm's default). The answer that
# matters most is a batch launch's confirmation: one later than this and Slurm cancels the
# job ("Could not confirm batch launch", no requeue with JobRequeue=0) although squeue
# showed it RUNNING. 5 s (the value this bed used before) was missed on a busy 2-core
# machine (issue 22); tests/slurm/test_slurmcluster.py stalls a slurmd 7 s to prove it.
MESSAGE_TIMEOUT = 10
PARTITIONS = {"debug": "INFINITE", "short": "5", "shared": "INFINITE"}  # name: MaxTime (min)
#: Partitions whose CPUs several jobs may share: the benchmark's many kernels at once.
OVERSUBSCRIBE = {"shared": "FORCE:32"}
NODE_MEMORY_MB = 1024


class ConfigMixin:
    """munge key and slurm.conf of :class:`~.cluster.SlurmTestCluster`."""

    @property
    def slurm_conf(self) -> Path:
        """The cluster's slurm.conf (``SLURM_CONF`` of every command, ``-f`` of daemons)."""
        return self.workdir / "slurm.conf"

    @property
    def munge_dir(self) -> Path:
        return self.workdir / "munge"

    @property
    def munge_socket(self) -> Path:
        """munged's socket (slurm.conf ``AuthInfo=socket=...``; ``munge -S`` by hand)."""
        return self.munge_dir / "munge.socket"

    @property
    def ctld_dir(self) -> Path:
        return self.workdir / "ctld"

    @property
    def ctld_log(self) -> Path:
        return self.ctld_dir / "slurmctld.log"

    def node_dir(self, host: TestHost | str) -> Path:
        """The node's SlurmdSpoolDir (``nodes/<node name>``: slurmd.log, slurmd.pid, job
        scripts)."""
        return self.workdir / "nodes" / self.host_of(host).hostname

    def node_log(self, host: TestHost | str) -> Path:
        return self.node_dir(host) / "slurmd.log"

    def _write_munge_key(self) -> None:
        self.munge_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = self.munge_dir / "munge.key"
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(1024))

    def _write_slurm_conf(self, hosts: list[TestHost]) -> None:
        self.ctld_dir.mkdir(parents=True, exist_ok=True)
        (self.ctld_dir / "state").mkdir(exist_ok=True)
        for h in hosts:
            self.node_dir(h).mkdir(parents=True, exist_ok=True)
        nodes_dir = self.workdir / "nodes"
        names = ",".join(h.hostname for h in hosts)
        lines = [
            "# jupyter_remote_kernels real Slurm test cluster (testing/slurmcluster/)",
            f"ClusterName=jrk{self.id}",
            f"SlurmctldHost={socket.gethostname()}({self.ctld_address})",
            f"SlurmctldPort={self.ports['ctld']}",
            f"SlurmdPort={self.ports['slurmd']}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            f"StateSaveLocation={self.ctld_dir / 'state'}",
            f"SlurmctldPidFile={self.ctld_dir / 'slurmctld.pid'}",
            f"SlurmctldLogFile={self.ctld_log}",
            f"SlurmdSpoolDir={nodes_dir}/%n",
            f"SlurmdPidFile={nodes_dir}/%n/slurmd.pid",
            f"SlurmdLogFile={nodes_dir}/%n/slurmd.log",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "MpiDefault=none",
            "SwitchType=switch/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "SchedulerType=sched/backfill",
            f"MinJobAge={MIN_JOB_AGE}",
            f"KillWait={KILL_WAIT}",
            "OverTimeLimit=0",
            "InactiveLimit=0",
            f"SlurmdTimeout={SLURMD_TIMEOUT}",
            "SlurmctldTimeout=10",
            f"MessageTimeout={MESSAGE_TIMEOUT}",
            "ReturnToService=2",
            # a batch job whose node fails ends NODE_FAIL instead of being requeued
            "JobRequeue=0",
            "MailProg=/bin/true",
        ]
        for h in hosts:
            lines.append(f"NodeName={h.hostname} NodeAddr={h.address} CPUs=1 "
                         f"RealMemory={NODE_MEMORY_MB} State=UNKNOWN")
        for i, (part, max_time) in enumerate(PARTITIONS.items()):
            share = f" OverSubscribe={OVERSUBSCRIBE[part]}" if part in OVERSUBSCRIBE else ""
            lines.append(f"PartitionName={part} Nodes={names} MaxTime={max_time} "
                         f"Default={'YES' if i == 0 else 'NO'} State=UP{share}")
        self.slurm_conf.write_text("\n".join(lines) + "\n")
