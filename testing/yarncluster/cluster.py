"""A real Apache Hadoop YARN cluster on this machine, for tests and benchmarks.

One ResourceManager JVM on the server side, bound to the bridge address of an SSH test bed
(testing/sshbed.py, network-namespace mode), and one NodeManager JVM inside each of the bed's
host namespaces, so containers run "on other hosts" (own address, own hostname). The file
system is the local one (``fs.defaultFS=file:///``): the hosts share this machine's disk.

    with YarnTestCluster() as yarn:            # starts its own 2-host bed
        print(yarn.rm_url, yarn.hadoop_conf_dir)
        subprocess.run(yarn.spark_submit_argv("app.py"), env=yarn.spark_env())

The jars come from Maven Central through ``testing/yarncluster/pom.xml`` (see
:func:`ensure_hadoop`), cached outside the repository in ``~/.cache/jrk-yarn/``.

Queues (CapacityScheduler): ``default``, and ``small``, whose AM resource limit lets ONE
application run; a second one stays ACCEPTED with the RM's diagnostic
("Queue's AM resource limit exceeded").

Everything a cluster starts is recorded in a state file under ``/tmp/jrk-yarncluster/``;
``stop()`` kills it and waits until it is gone, and a later cluster removes what an owner
that died without ``stop()`` left behind. No pytest import here: benchmarks use it too.

Modules: :mod:`.deps` (Java, Hadoop's jars through Maven, pyspark, :func:`require`),
:mod:`.config` (yarn-site, core-site, the CapacityScheduler's queues), :mod:`.daemons` (the RM
and NM JVMs, container processes), :mod:`.procs` (``/proc`` helpers, state files, stale
clusters), :mod:`.rest` (RM REST helpers) and :mod:`.spark` (spark-submit, kernelspecs).
"""

from __future__ import annotations

import atexit
import contextlib
import secrets
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional, Union

from testing.procs import StateOwner
from testing.sshbed import SSHTestBed, TestHost

from .config import ConfigMixin
from .daemons import DaemonsMixin
from .deps import YarnClusterError, require
from .procs import (
    STATE_FILES,
    cleanup_stale,
    free_port,
    kill_and_wait,
    remove_resources,
)
from .rest import RestMixin
from .spark import SparkMixin

__all__ = ["YarnTestCluster"]


class YarnTestCluster(ConfigMixin, DaemonsMixin, RestMixin, SparkMixin, StateOwner):
    """One ResourceManager + one NodeManager per bed host. See the module docstring.

    ``bed``: a started :class:`SSHTestBed` in netns mode whose hosts get a NodeManager each
    (all hosts that are up); without it the cluster starts and stops its own bed of
    ``n_hosts``. Do not stop()/start() the bed's hosts under the cluster except through
    :meth:`stop_nodemanager` / :meth:`start_nodemanager` (a host stop kills its NM).
    """

    __test__ = False
    state_files = STATE_FILES

    def __init__(self, bed: Optional[SSHTestBed] = None, n_hosts: int = 2,
                 workdir: Union[str, Path, None] = None, *, nm_memory_mb: int = 6144,
                 nm_vcores: int = 8, start_timeout: float = 180.0, fetch: bool = True,
                 jvm_heap: str = "512m", label: str = ""):
        self.id = secrets.token_hex(3)
        self.label = label
        self._bed, self._own_bed = bed, bed is None
        self.n_hosts = n_hosts
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(
            tempfile.mkdtemp(prefix="jrk-yarncluster-"))
        self.nm_memory_mb, self.nm_vcores = nm_memory_mb, nm_vcores
        self.start_timeout, self.fetch, self.jvm_heap = start_timeout, fetch, jvm_heap
        self.state_path = STATE_FILES.path(self.id)
        self.rm_host = ""
        self.ports: dict[str, int] = {}
        self.cluster_timestamp: Optional[str] = None
        self.java_home: Optional[Path] = None
        self.lib: Optional[Path] = None
        self._rm: Optional[subprocess.Popen] = None
        self._nms: dict[str, subprocess.Popen] = {}
        self._state: dict = {}
        self._started = self._stopped = False
        self.startup_seconds: Optional[float] = None

    def __repr__(self) -> str:
        return f"<YarnTestCluster {self.id} {self.rm_url if self.rm_host else 'unstarted'}>"

    # -- public accessors ------------------------------------------------------------------
    @property
    def bed(self) -> SSHTestBed:
        if self._bed is None:
            msg = "the cluster is not started"
            raise YarnClusterError(msg)
        return self._bed

    @property
    def hosts(self) -> list[TestHost]:
        """The bed hosts that run a NodeManager."""
        return [self.bed.host(name) for name in self._state.get("nm_hosts", [])]

    @property
    def rm_url(self) -> str:
        return f"http://{self.rm_host}:{self.ports['webapp']}"

    @property
    def rm_address(self) -> str:
        """The RM's client RPC address (what spark-submit talks to)."""
        return f"{self.rm_host}:{self.ports['rpc']}"

    @property
    def hadoop_conf_dir(self) -> Path:
        """For HADOOP_CONF_DIR / YARN_CONF_DIR of clients (spark-submit, yarn CLI)."""
        return self.workdir / "conf" / "client"

    @property
    def rm_log(self) -> Path:
        return self.workdir / "rm" / "rm.log"

    def nm_dir(self, host: Union[TestHost, str]) -> Path:
        return self.workdir / "nm" / (host if isinstance(host, str) else host.name)

    def nm_log(self, host: Union[TestHost, str]) -> Path:
        return self.nm_dir(host) / "nm.log"

    def container_log_dir(self, host: Union[TestHost, str]) -> Path:
        """The NodeManager's yarn.nodemanager.log-dirs: <app id>/<container id>/stdout..."""
        return self.nm_dir(host) / "userlogs"

    # -- start -----------------------------------------------------------------------------
    def start(self) -> YarnTestCluster:
        if self._started:
            return self
        self._started = True
        t0 = time.monotonic()
        found = require(self.fetch)
        self.java_home, self.lib = found["java"], found["hadoop"]
        atexit.register(self._atexit_stop)
        try:
            with STATE_FILES.lock():
                cleanup_stale()
                STATE_FILES.mark_workdir(self.workdir, self.id)
                self._state = STATE_FILES.new(self.id, workdir=str(self.workdir),
                                              jvms=[], nm_hosts=[],
                                              own_workdir=self._own_workdir, label=self.label)
            if self._bed is None:
                self._bed = SSHTestBed(self.n_hosts, self.workdir / "bed", mode="netns")
                self._bed.start()
            if self._bed.mode != "netns":
                msg = (f"the YARN cluster needs a bed in netns mode (its NodeManagers run in "
                       f"the hosts' network namespaces); {self._bed!r} is {self._bed.mode}")
                raise YarnClusterError(msg)
            hosts = [h for h in self._bed.hosts if h.is_running]
            if not hosts:
                msg = f"the bed {self._bed!r} has no running host for a NodeManager"
                raise YarnClusterError(msg)
            self.rm_host = self._bed.route_source_address
            self.ports = {k: free_port(self.rm_host)
                          for k in ("rpc", "scheduler", "tracker", "admin", "webapp")}
            self.record(nm_hosts=[h.name for h in hosts])
            self._write_confs(hosts)
            self._launch_rm()
            for h in hosts:
                self._launch_nm(h)
            self._wait_rm(self.start_timeout)
            self.wait_nodes(max(1.0, self.start_timeout - (time.monotonic() - t0)))
            # the RM's cluster timestamp (the middle of every application and container id)
            # is final once it is active; the first /info answers can carry an earlier one
            _, body = self.rest("info")
            self.cluster_timestamp = str(body["clusterInfo"]["id"])
            self._state["cluster_timestamp"] = self.cluster_timestamp
            self.record()
        except BaseException:
            self.stop()
            raise
        self._record_started(t0, rm_url=self.rm_url, rm_address=self.rm_address,
                             hadoop_conf_dir=str(self.hadoop_conf_dir))
        return self

    # -- stop ------------------------------------------------------------------------------
    def stop(self) -> None:
        """Kill the RM, every NM and every container process, wait until they are gone,
        stop the bed if the cluster made it, remove the workdir. Idempotent."""
        if not self._begin_stop():
            return
        errors = []
        procs = [p for p in [self._rm, *self._nms.values()] if p is not None]
        left = kill_and_wait([p.pid for p in procs if p.poll() is None])
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(5)
        if left:
            errors.append(f"JVMs {left} survived SIGKILL")
        errors += remove_resources(self._state, remove_workdir=False)
        bed = self._bed if self._own_bed else None
        self._finish_stop(self._stop_bed(errors, bed), YarnClusterError, "YARN test cluster")
