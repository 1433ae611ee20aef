"""A real Slurm cluster on this machine, for tests and benchmarks.

One ``munged`` (generated key, its socket under the workdir) and ``slurmctld`` on the
server side, reached at the bridge address of an SSH test bed of its own (network-namespace
mode), and one ``slurmd`` inside each of the bed's hosts, whose hostname is the node name,
so a job runs "on another host". One CPU per node (``select/cons_tres``, ``CR_CPU``): with
two nodes a third 1-CPU job stays PENDING with reason ``Resources``. Partitions ``debug``
(default, no time limit), ``short`` (5 minutes) and ``shared`` (up to 32 jobs share a CPU:
many kernels at once, for the benchmark). No slurmdbd: follow jobs with squeue /
scontrol, which keep a finished job for MinJobAge (60 s).

    with SlurmTestCluster() as slurm:
        env = {**os.environ, **slurm.env()}           # SLURM_CONF=<workdir>/slurm.conf
        job_id = slurm.sbatch("#!/bin/sh\\nhostname\\n", "-o", "/tmp/out")
        slurm.jobs()                                  # [{"id", "state", "reason", "node", ...}]

Everything runs as root (SlurmUser=root): the daemons, and so the jobs. Nothing in /etc or
/run is touched: the daemons get ``-f <workdir>/slurm.conf``, the commands ``SLURM_CONF``,
and slurm.conf names munged's socket (``AuthInfo=socket=...``).

Everything a cluster starts is recorded in a state file under ``/tmp/jrk-slurmcluster/``;
``stop()`` kills it and waits until it is gone, and a later cluster removes what an owner
that died without ``stop()`` left behind. No pytest import here: benchmarks use it too.

Modules: :mod:`.deps` (the Debian packages, :func:`require`), :mod:`.config` (munge key,
slurm.conf), :mod:`.daemons` (munged, slurmctld, slurmd; stop_node / start_node),
:mod:`.commands` (env, run, jobs, clear, node_processes), :mod:`.procs` (``/proc``
helpers, state files, stale clusters).
"""

from __future__ import annotations

import atexit
import secrets
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional, Union

from testing.procs import StateOwner
from testing.sshbed import SSHTestBed, TestHost

from .commands import CommandsMixin
from .config import ConfigMixin
from .daemons import DaemonsMixin
from .deps import SlurmClusterError, require
from .procs import STATE_FILES, cleanup_stale, free_port, remove_resources

__all__ = ["SlurmTestCluster"]


class SlurmTestCluster(ConfigMixin, DaemonsMixin, CommandsMixin, StateOwner):
    """munged + slurmctld + one slurmd per host of its own ``n_hosts`` bed. See the module
    docstring. Do not stop()/start() the bed's hosts except through :meth:`stop_node` /
    :meth:`start_node`."""

    __test__ = False
    state_files = STATE_FILES

    def __init__(self, workdir: Union[str, Path, None] = None, n_hosts: int = 2, *,
                 start_timeout: float = 60.0, label: str = ""):
        self.id = secrets.token_hex(3)
        self.label = label
        self.n_hosts = n_hosts
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(
            tempfile.mkdtemp(prefix="jrk-slurmcluster-"))
        self.start_timeout = start_timeout
        self.state_path = STATE_FILES.path(self.id)
        self.ctld_address = ""
        self.ports: dict[str, int] = {}
        self._bed: Optional[SSHTestBed] = None
        self._munged: Optional[subprocess.Popen] = None
        self._ctld: Optional[subprocess.Popen] = None
        self._slurmds: dict[str, subprocess.Popen] = {}
        self._state: dict = {}
        self._started = self._stopped = False
        self.startup_seconds: Optional[float] = None

    def __repr__(self) -> str:
        where = f"{self.ctld_address}:{self.ports['ctld']}" if self.ports else "unstarted"
        return f"<SlurmTestCluster {self.id} {where}>"

    # -- public accessors ------------------------------------------------------------------
    @property
    def bed(self) -> SSHTestBed:
        """The cluster's own SSH test bed (ssh to a node: ``ssh -F bed.ssh_config_path
        h1``; ``host.run`` runs in its namespaces)."""
        if self._bed is None:
            msg = "the Slurm cluster is not started"
            raise SlurmClusterError(msg)
        return self._bed

    @property
    def hosts(self) -> list[TestHost]:
        """The bed hosts that are Slurm nodes (``host.hostname`` is the node name)."""
        return list(self.bed.hosts)

    @property
    def node_names(self) -> list[str]:
        return [h.hostname for h in self.hosts]

    def host_of(self, node: Union[TestHost, str]) -> TestHost:
        """The bed host of `node`: a Slurm node name (``jrk-host1``, what squeue shows),
        a bed host name (``h1``) or the TestHost itself. Every method taking a `host`
        accepts all three."""
        if isinstance(node, TestHost):
            return node
        for h in self.hosts:
            if node in (h.hostname, h.name):
                return h
        msg = f"no node {node!r} in this cluster (nodes: {self.node_names})"
        raise KeyError(msg)

    # -- start -----------------------------------------------------------------------------
    def start(self) -> SlurmTestCluster:
        """Start munged, the bed, slurmctld and the slurmd; wait until every node is idle
        (raises :class:`SlurmClusterError` with the logs' tails). Idempotent."""
        if self._started:
            return self
        self._started = True
        t0 = time.monotonic()
        require()
        atexit.register(self._atexit_stop)
        try:
            with STATE_FILES.lock():
                cleanup_stale()
                STATE_FILES.mark_workdir(self.workdir, self.id)
                self._state = STATE_FILES.new(self.id, workdir=str(self.workdir),
                                              daemons=[],
                                              own_workdir=self._own_workdir, label=self.label)
            self._bed = SSHTestBed(self.n_hosts, self.workdir / "bed", mode="netns")
            self._bed.start()
            self.ctld_address = self._bed.route_source_address
            self.ports = {"ctld": free_port(self.ctld_address),
                          "slurmd": free_port(self.ctld_address)}
            self._write_munge_key()
            self._write_slurm_conf(self.hosts)
            self._launch_munged()
            self._launch_ctld()
            for h in self.hosts:
                self._launch_slurmd(h)
            self.wait_nodes(max(1.0, self.start_timeout - (time.monotonic() - t0)))
        except BaseException:
            self.stop()
            raise
        self._record_started(t0, slurm_conf=str(self.slurm_conf), ctld=repr(self))
        return self

    # -- stop ------------------------------------------------------------------------------
    def stop(self) -> None:
        """Kill every daemon (slurmd, slurmctld, munged) and every job process (the bed's
        stop kills all in the hosts' namespaces), wait until they are gone, stop the bed,
        remove a workdir the cluster made. Idempotent; raises when something survived."""
        if not self._begin_stop():
            return
        errors = self._stop_daemons()
        errors += remove_resources(self._state, remove_workdir=False)
        errors = self._stop_bed(errors, self._bed)
        self._finish_stop(errors, SlurmClusterError, "Slurm test cluster")
