"""The JVMs of the real YARN test cluster (the ResourceManager and the NodeManagers) and
its containers' processes: start, wait, stop, kill."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Optional, Union

from testing.sshbed import TestHost

from .config import NM_PORTS
from .deps import YarnClusterError
from .procs import (
    ENV_MARK,
    all_pids,
    cmdline,
    container_pids,
    environ,
    kill_and_wait,
    parent_pid,
    running,
    start_time,
    tail,
)

LIVE_STATES = ("NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING")
RM_CLASS = "org.apache.hadoop.yarn.server.resourcemanager.ResourceManager"
NM_CLASS = "org.apache.hadoop.yarn.server.nodemanager.NodeManager"
# Hadoop 3.5 on Java 17: Guice/Jersey and Hadoop's own reflection need these opened.
JAVA_OPENS = [
    f"--add-opens=java.base/{pkg}=ALL-UNNAMED"
    for pkg in ("java.lang", "java.lang.reflect", "java.lang.invoke", "java.io", "java.net",
                "java.nio", "java.util", "java.util.concurrent", "java.util.regex",
                "sun.nio.ch", "sun.net.dns", "sun.net.util")
]



class DaemonsMixin:
    """RM, NodeManagers and container processes of :class:`~.cluster.YarnTestCluster`."""

    # -- processes -------------------------------------------------------------------------
    def container_processes(self, host: Union[TestHost, str, None] = None
                            ) -> list[tuple[int, str]]:
        """(pid, cmdline) of processes of this cluster's containers: on `host` (its
        namespace) or, without it, anywhere on the machine."""
        if host is None:
            hosts = self.hosts
        else:
            hosts = [self.bed.host(host) if isinstance(host, str) else host]
        on_hosts = set()
        for h in hosts:
            on_hosts |= set(h.pids())
        # any container process in the hosts' namespaces, and this RM's anywhere else
        pids = {p for p in on_hosts if environ(p).get("CONTAINER_ID")}
        if host is None:
            pids |= container_pids(self.cluster_timestamp)
        return [(pid, cmdline(pid) or "") for pid in sorted(pids) if running(pid)]

    def kill_container_processes(self, host: Union[TestHost, str, None] = None,
                                 timeout: float = 15) -> list[tuple[int, str]]:
        """SIGKILL the container processes on `host` (all hosts without it), as a host that
        goes down would; e.g. the orphans a SIGKILLed NodeManager leaves (a real NM does
        not clean them up). Returns what was killed, after it is gone."""
        procs = self.container_processes(host)
        left = kill_and_wait([pid for pid, _ in procs], timeout)
        if left:
            msg = f"container processes {left} survived SIGKILL"
            raise YarnClusterError(msg)
        return procs

    def client_processes(self) -> list[tuple[int, str]]:
        """(pid, cmdline) of this cluster's client processes anywhere on the machine (the
        server's side and the bed hosts share its process table): what a kernelspec or a test
        started with this cluster's HADOOP_CONF_DIR/YARN_CONF_DIR -- a kernelspec's run.sh,
        ``spark-submit`` and its SparkSubmit JVM -- and is neither a container process
        (:meth:`container_processes`) nor the calling process or its ancestors."""
        conf = str(self.hadoop_conf_dir)
        mine, pid = set(), os.getpid()
        while pid > 1 and pid not in mine:
            mine.add(pid)
            pid = parent_pid(pid)
        found = []
        for pid in sorted(set(all_pids()) - mine):
            env = environ(pid)
            if conf not in (env.get("HADOOP_CONF_DIR"), env.get("YARN_CONF_DIR")):
                continue
            if env.get("CONTAINER_ID") or env.get(ENV_MARK) or not running(pid):
                continue
            found.append((pid, cmdline(pid) or ""))
        return found

    def live_apps(self) -> list[dict]:
        """Every application of the RM that is not FINISHED, FAILED or KILLED."""
        return self.apps(states=LIVE_STATES)

    def leftovers(self, grace: float = 30) -> dict[str, list]:
        """What is still alive on the cluster after ``grace`` seconds (in which an ending
        application, container or client may finish ending): live applications (id, state,
        name, diagnostics), container processes and client processes. Empty lists when
        nothing is left. Looks at the RM and the process table, not at any bookkeeping."""
        deadline = time.monotonic() + grace
        while True:
            left = {
                "applications": [(a["id"], a["state"], a["name"], a.get("diagnostics", ""))
                                 for a in self.live_apps()],
                "container processes": self.container_processes(),
                "client processes": self.client_processes(),
            }
            if not any(left.values()) or time.monotonic() > deadline:
                return left
            time.sleep(0.5)

    def clear(self, timeout: float = 60) -> list[str]:
        """Kill every application still alive and any container process left, so what one
        test left cannot fail the next (tests assert their own leftovers first). Returns
        the ids of the applications it killed."""
        live = LIVE_STATES
        killed = [app["id"] for app in self.apps(states=live)]
        for app_id in killed:
            self.kill(app_id)
        deadline = time.monotonic() + timeout
        while self.apps(states=live) and time.monotonic() < deadline:
            time.sleep(0.5)
        while self.container_processes() and time.monotonic() < deadline:
            time.sleep(0.5)
        self.kill_container_processes()
        clients = [pid for pid, _ in self.client_processes()]
        left = kill_and_wait(clients, 15)
        if left:
            msg = f"client processes {left} survived SIGKILL"
            raise YarnClusterError(msg)
        return killed

    def nodemanager_pid(self, host: Union[TestHost, str]) -> Optional[int]:
        name = host if isinstance(host, str) else host.name
        proc = self._nms.get(name)
        return proc.pid if proc is not None and proc.poll() is None else None

    def stop_nodemanager(self, host: Union[TestHost, str], sig: int = signal.SIGKILL,
                         timeout: float = 60) -> None:
        """Stop the NodeManager of `host` and wait until its JVM is gone.

        SIGKILL (default) is a crashed NM: its containers keep running (orphans, see
        :meth:`kill_container_processes`), the RM marks the node LOST after
        yarn.nm.liveness-monitor.expiry-interval-ms (20 s here) and fails the attempts that
        ran there. SIGTERM is a clean shutdown (~15 s): the NM kills its containers and
        unregisters, the node is SHUTDOWN at once and its AM attempts fail (exit -100).
        Bring it back with :meth:`start_nodemanager`."""
        name = host if isinstance(host, str) else host.name
        proc = self._nms.get(name)
        if proc is None or proc.poll() is not None:
            return
        self._state.setdefault("nm_stopped", []).append(name)
        self.record()
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def start_nodemanager(self, host: Union[TestHost, str], wait: bool = True) -> None:
        """(Re)start the NodeManager of `host` and, with `wait`, wait until RUNNING."""
        host = self.bed.host(host) if isinstance(host, str) else host
        proc = self._nms.get(host.name)
        if proc is not None and proc.poll() is None:
            return
        if not host.is_running:
            host.start()
        self._launch_nm(host)
        if wait:
            self.wait_nodes(timeout=self.start_timeout)

    def wait_nodes(self, timeout: float = 120) -> list[dict]:
        """Wait until every NodeManager of the cluster is RUNNING in the RM's nodes list."""
        want = {f"{h.hostname}:{NM_PORTS['address']}" for h in self.hosts
                if self.nodemanager_pid(h)}
        deadline = time.monotonic() + timeout
        nodes: list[dict] = []
        while time.monotonic() < deadline:
            self.check_alive()
            with contextlib.suppress(YarnClusterError):
                nodes = self.nodes()
                running = {n["id"] for n in nodes if n.get("state") == "RUNNING"}
                if want <= running:
                    return nodes
            time.sleep(0.25)
        logs = "\n".join(f"--- {self.nm_log(h)}:\n{tail(self.nm_log(h), 15)}"
                         for h in self.hosts)
        msg = (f"NodeManagers {sorted(want)} not RUNNING at {self.rm_url} within {timeout}s; "
               f"nodes: {[(n.get('id'), n.get('state')) for n in nodes]}\n"
               f"--- {self.rm_log}:\n{tail(self.rm_log, 15)}\n{logs}")
        raise YarnClusterError(msg)

    def check_alive(self) -> None:
        if self._rm is not None and self._rm.poll() is not None:
            msg = (f"the ResourceManager exited with {self._rm.returncode}; log {self.rm_log}:"
                   f"\n{tail(self.rm_log, 40)}")
            raise YarnClusterError(msg)
        for name, proc in self._nms.items():
            if proc.poll() is not None and name not in self._state.get("nm_stopped", []):
                log = self.nm_log(name)
                msg = (f"the NodeManager of {name} exited with {proc.returncode}; log {log}:"
                       f"\n{tail(log, 40)}")
                raise YarnClusterError(msg)

    def _java_argv(self, conf_dir: Path, log_dir: Path, main: str) -> list[str]:
        (log_dir / "tmp").mkdir(parents=True, exist_ok=True)  # jetty's, not /tmp
        java = str(self.java_home / "bin" / "java")
        return [java, f"-Xmx{self.jvm_heap}", "-Xms64m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-Djava.net.preferIPv4Stack=true",
                f"-Dhadoop.home.dir={self.lib.parent}", f"-Dhadoop.log.dir={log_dir}",
                f"-Dyarn.log.dir={log_dir}", f"-Djava.io.tmpdir={log_dir / 'tmp'}",
                "-Dhadoop.id.str=" + os.environ.get("USER", "root"),
                *JAVA_OPENS, "-cp", f"{conf_dir}:{self.lib}/*", main]

    def _jvm_env(self, mark: str) -> dict:
        env = dict(os.environ)
        for key in ("HADOOP_CONF_DIR", "YARN_CONF_DIR", "HADOOP_HOME", "CLASSPATH",
                    "SPARK_HOME", "JAVA_TOOL_OPTIONS"):
            env.pop(key, None)
        env.update({"JAVA_HOME": str(self.java_home), ENV_MARK: f"{self.id}-{mark}",
                    "MALLOC_ARENA_MAX": "2"})
        return env

    def _launch_rm(self) -> None:
        d = self.workdir / "rm"
        argv = self._java_argv(self.workdir / "conf" / "rm", d, RM_CLASS)
        extra = list(getattr(self, "rm_java_options", []))
        argv[1:1] = extra  # after the java binary
        # NodeIds are the hosts' names (jrk-hostN): the RM resolves them through the bed's
        # hosts file, bind-mounted over /etc/hosts in a mount namespace of its own, so no
        # lookup of a test host ever leaves the machine.
        script = 'mount --bind "$0" /etc/hosts && exec "$@"'
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                str(self.bed.etc_hosts_path), *argv]
        with open(self.rm_log, "ab") as log:
            self._rm = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, cwd=d,
                                        env=self._jvm_env("rm"), start_new_session=True)
        self.record(jvms=[[self._rm.pid, start_time(self._rm.pid), "rm"]])

    def _launch_nm(self, host: TestHost) -> None:
        d = self.nm_dir(host)
        argv = self._java_argv(d / "conf", d, NM_CLASS)
        with open(self.nm_log(host), "ab") as log:
            proc = host.run(argv, background=True, stdout=log, stderr=subprocess.STDOUT,
                            cwd=d, env=self._jvm_env(host.name), start_new_session=True)
        self._nms[host.name] = proc
        stopped = self._state.get("nm_stopped", [])
        if host.name in stopped:
            stopped.remove(host.name)
        self.record(jvms=[[proc.pid, start_time(proc.pid), host.name]])

    def _wait_rm(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                status, body = self.rest("info", timeout=5)
                if status == 200 and body["clusterInfo"].get("state") == "STARTED":
                    self.cluster_timestamp = str(body["clusterInfo"]["id"])
                    self._state["cluster_timestamp"] = self.cluster_timestamp
                    self.record()
                    return
                last = (status, body)
            except (YarnClusterError, KeyError, TypeError) as exc:
                last = exc
            time.sleep(0.25)
        msg = (f"the ResourceManager did not answer at {self.rm_url} within {timeout}s "
               f"(last: {last}); log {self.rm_log}:\n{tail(self.rm_log, 40)}")
        raise YarnClusterError(msg)
