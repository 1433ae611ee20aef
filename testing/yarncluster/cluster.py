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
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Optional, Union
from xml.sax.saxutils import escape

from testing.sshbed import SSHTestBed, TestHost, netns_available

__all__ = [
    "HADOOP_VERSION",
    "YarnClusterError",
    "YarnTestCluster",
    "cleanup_stale",
    "ensure_hadoop",
    "ensure_spark_archive",
    "hadoop_lib_dir",
    "mvn_command",
    "recorded_clusters",
    "require",
    "spark_home",
]

HADOOP_VERSION = "3.5.0"
POM = Path(__file__).with_name("pom.xml")
ENV_MARK = "JRK_YARNCLUSTER"
_MARKER_FILE = ".jrk-yarncluster"
RM_CLASS = "org.apache.hadoop.yarn.server.resourcemanager.ResourceManager"
NM_CLASS = "org.apache.hadoop.yarn.server.nodemanager.NodeManager"
NM_PORTS = {"address": 8041, "localizer": 8040, "webapp": 8042}
# Hadoop 3.5 on Java 17: Guice/Jersey and Hadoop's own reflection need these opened.
JAVA_OPENS = [
    f"--add-opens=java.base/{pkg}=ALL-UNNAMED"
    for pkg in ("java.lang", "java.lang.reflect", "java.lang.invoke", "java.io", "java.net",
                "java.nio", "java.util", "java.util.concurrent", "java.util.regex",
                "sun.nio.ch", "sun.net.dns", "sun.net.util")
]


class YarnClusterError(RuntimeError):
    """Setting up, driving or tearing down the real YARN test cluster failed."""


# -- where things are ----------------------------------------------------------------------
def cache_dir() -> Path:
    """Jars and the Spark archive live here (``$JRK_YARN_CACHE`` or ``~/.cache/jrk-yarn``)."""
    return Path(os.environ.get("JRK_YARN_CACHE") or Path.home() / ".cache" / "jrk-yarn")


def hadoop_lib_dir() -> Path:
    return cache_dir() / f"hadoop-{HADOOP_VERSION}" / "lib"


def _state_dir() -> Path:
    return Path("/tmp/jrk-yarncluster" if os.geteuid() == 0 else
                f"/tmp/jrk-yarncluster-{os.geteuid()}")


def java_home() -> Path:
    """JAVA_HOME of the ``java`` on PATH (or ``$JAVA_HOME``)."""
    if os.environ.get("JAVA_HOME") and (Path(os.environ["JAVA_HOME"]) / "bin/java").exists():
        return Path(os.environ["JAVA_HOME"])
    java = shutil.which("java")
    if not java:
        msg = ("Java is not installed: the real YARN cluster needs Java 17 "
               "(Debian: apt-get install openjdk-17-jre-headless)")
        raise YarnClusterError(msg)
    return Path(os.path.realpath(java)).parent.parent


def spark_home() -> Path:
    """The installed pyspark package folder, which is a complete SPARK_HOME."""
    try:
        import pyspark  # noqa: PLC0415 (heavy; only when a cluster starts)
    except ImportError as exc:
        msg = ("pyspark is not installed: the real-cluster tests run spark-submit from it "
               "(python3 -m pip install pyspark)")
        raise YarnClusterError(msg) from exc
    home = Path(pyspark.__file__).parent
    if not (home / "bin" / "spark-submit").exists() or not (home / "jars").is_dir():
        msg = f"pyspark at {home} has no bin/spark-submit or jars/: reinstall pyspark"
        raise YarnClusterError(msg)
    return home


def _missing_jars(lib: Path) -> list[str]:
    want = [f"hadoop-yarn-server-resourcemanager-{HADOOP_VERSION}.jar",
            f"hadoop-yarn-server-nodemanager-{HADOOP_VERSION}.jar",
            f"hadoop-common-{HADOOP_VERSION}.jar"]
    return [j for j in want if not (lib / j).is_file()]


def ensure_hadoop(fetch: bool = True, timeout: float = 1200) -> Path:
    """Hadoop's jars folder; with `fetch`, runs Maven on pom.xml when they are missing."""
    lib = hadoop_lib_dir()
    if not _missing_jars(lib):
        return lib
    cmd = mvn_command(lib)
    if not fetch:
        msg = (f"Hadoop {HADOOP_VERSION} jars are missing from {lib}; fetch them with:\n"
               f"  {' '.join(cmd)}")
        raise YarnClusterError(msg)
    if not shutil.which("mvn"):
        msg = (f"Hadoop {HADOOP_VERSION} jars are missing from {lib} and Maven is not "
               f"installed to fetch them (Debian: apt-get install maven), then run:\n"
               f"  {' '.join(cmd)}")
        raise YarnClusterError(msg)
    lib.parent.mkdir(parents=True, exist_ok=True)
    with open(lib.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _missing_jars(lib):
            return lib
        tmp = Path(tempfile.mkdtemp(prefix="lib.", dir=lib.parent))
        try:
            proc = subprocess.run(mvn_command(tmp), capture_output=True, text=True,
                                  timeout=timeout, check=False)
            if proc.returncode or _missing_jars(tmp):
                msg = (f"fetching Hadoop {HADOOP_VERSION} with Maven failed "
                       f"(exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
                raise YarnClusterError(msg)
            shutil.rmtree(lib, ignore_errors=True)
            tmp.rename(lib)
        except subprocess.TimeoutExpired as exc:
            msg = f"fetching Hadoop with Maven did not finish within {timeout}s"
            raise YarnClusterError(msg) from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return lib


def mvn_command(output_dir: Union[Path, str, None] = None) -> list[str]:
    """The Maven command that copies Hadoop's jars (and what they need) to `output_dir`."""
    return ["mvn", "-B", "-q", "-f", str(POM), "dependency:copy-dependencies",
            "-DincludeScope=runtime", f"-DoutputDirectory={output_dir or hadoop_lib_dir()}"]


def ensure_spark_archive() -> Path:
    """A zip of pyspark's jars for ``spark.yarn.archive``, made once and cached: without it
    every spark-submit zips and uploads ~280 jars (460 MB)."""
    jars = spark_home() / "jars"
    entries = sorted((p.name, p.stat().st_size) for p in jars.glob("*.jar"))
    digest = hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:10]
    import pyspark  # noqa: PLC0415 (heavy; only when a cluster starts)

    target = cache_dir() / f"spark-{pyspark.__version__}-jars-{digest}.zip"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():
            return target
        tmp = target.with_suffix(".tmp")
        # stored, not deflated: jars are compressed already; the NM only unpacks it
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            for name, _ in entries:
                zf.write(jars / name, name)
        tmp.replace(target)
    return target


def require(fetch: bool = True) -> dict:
    """Check (and with `fetch`, get) everything the cluster needs; raise YarnClusterError
    naming each missing part and how to install it. Returns the paths found."""
    problems, found = [], {}
    for name, check in (("java", java_home), ("hadoop", lambda: ensure_hadoop(fetch)),
                        ("spark_home", spark_home)):
        try:
            found[name] = check()
        except YarnClusterError as exc:
            problems.append(str(exc))
    if not netns_available():
        problems.append("the YARN cluster's NodeManagers live in network namespaces: run as "
                        "root with `ip netns`, `unshare` and `nsenter` working (iproute2, "
                        "util-linux)")
    if not (shutil.which("sshd") or os.access("/usr/sbin/sshd", os.X_OK)):
        problems.append("sshd is not installed (Debian: apt-get install openssh-server)")
    if problems:
        msg = "the real YARN test cluster cannot start:\n- " + "\n- ".join(problems)
        raise YarnClusterError(msg)
    return found


# -- process helpers -----------------------------------------------------------------------
def _start_time(pid: int) -> Optional[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _running(pid: int, start: Optional[str] = None) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] != "Z" and (start is None or fields[19] == start)


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    out = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            out[key.decode(errors="replace")] = value.decode(errors="replace")
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace").strip()
    except OSError:
        return ""


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _kill_and_wait(pids: Iterable[int], timeout: float = 15.0) -> list[int]:
    """SIGKILL `pids` (and their process groups when they lead one); wait until gone.
    Returns the ones still running after `timeout`."""
    pids = {p for p in pids if p != os.getpid()}
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid and pid != os.getpgrp():
                os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if _running(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if _running(p)]


def _container_pids(cluster_ts: Optional[str]) -> set[int]:
    """Processes of YARN containers of the RM started at `cluster_ts` (any RM if None):
    launch_container.sh exports CONTAINER_ID=container_<ts>_... to all of them."""
    needle = f"container_{cluster_ts}_" if cluster_ts else "container_"
    found = set()
    for pid in _all_pids():
        if _environ(pid).get("CONTAINER_ID", "").startswith(needle) or (
                cluster_ts and needle in _cmdline(pid)):
            found.add(pid)
    return found


def _marked_pids(prefix: str) -> set[int]:
    return {pid for pid in _all_pids() if _environ(pid).get(ENV_MARK, "").startswith(prefix)}


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def _xml(props: dict) -> str:
    body = "".join(
        f"  <property><name>{escape(str(k))}</name><value>{escape(str(v))}</value></property>\n"
        for k, v in props.items())
    return f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n'


LOG4J = """\
log4j.rootLogger=INFO,console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.out
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR
log4j.logger.org.apache.hadoop.conf.Configuration.deprecation=WARN
"""


# -- the cluster ---------------------------------------------------------------------------
class YarnTestCluster:
    """One ResourceManager + one NodeManager per bed host. See the module docstring.

    ``bed``: a started :class:`SSHTestBed` in netns mode whose hosts get a NodeManager each
    (all hosts that are up); without it the cluster starts and stops its own bed of
    ``n_hosts``. Do not stop()/start() the bed's hosts under the cluster except through
    :meth:`stop_nodemanager` / :meth:`start_nodemanager` (a host stop kills its NM).
    """

    __test__ = False

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
        self.state_path = _state_dir() / f"{self.id}.json"
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

    def __enter__(self) -> YarnTestCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

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

    def spark_conf(self, jars: str = "local", **extra) -> dict:
        """Spark settings for this cluster: small memory, one executor, and Spark's jars
        without a per-submit upload: ``jars="local"`` (default) points
        ``spark.yarn.jars`` at pyspark's jars folder with the ``local:`` scheme (the hosts
        share this disk: nothing is copied or localized); ``jars="archive"`` uses the
        prepared zip (:func:`ensure_spark_archive`) as ``spark.yarn.archive`` (spark-submit
        still copies a ``file:`` archive to the staging dir, and each NM unpacks it per
        application)."""
        if jars == "local":
            libs = {"spark.yarn.jars": f"local:{spark_home() / 'jars'}/*"}
        elif jars == "archive":
            libs = {"spark.yarn.archive": f"file://{ensure_spark_archive()}"}
        else:
            msg = f"jars={jars!r}: use 'local' or 'archive'"
            raise ValueError(msg)
        conf = {
            **libs,
            "spark.yarn.stagingDir": f"file://{self.workdir / 'staging'}",
            "spark.driver.memory": "512m",
            "spark.executor.memory": "512m",
            "spark.yarn.am.memory": "512m",
            "spark.executor.instances": "1",
            "spark.executor.cores": "1",
            "spark.dynamicAllocation.enabled": "false",
            "spark.yarn.submit.waitAppCompletion": "false",
            "spark.ui.enabled": "false",
        }
        conf.update(extra)
        return conf

    def spark_env(self, **extra) -> dict:
        """Environment for spark-submit (a copy of os.environ plus these)."""
        env = dict(os.environ)
        env.update({
            "SPARK_HOME": str(spark_home()),
            "HADOOP_CONF_DIR": str(self.hadoop_conf_dir),
            "YARN_CONF_DIR": str(self.hadoop_conf_dir),
            "JAVA_HOME": str(self.java_home or java_home()),
            "PYSPARK_PYTHON": sys.executable,  # the tests' Python (a venv's too)
        })
        env.pop("SPARK_CONF_DIR", None)
        env.update(extra)
        return env

    def kernelspec_spark_opts(self, **extra: str) -> str:
        """This cluster's Spark settings as the ``--conf K=V ...`` options a kernelspec's
        SPARK_OPTS carries (without waitAppCompletion, which the templates set)."""
        conf = self.spark_conf(**extra)
        conf.pop("spark.yarn.submit.waitAppCompletion")
        return " ".join(f"--conf {k}={v}" for k, v in conf.items())

    def install_spark_kernelspec(self, prefix: Path, name: str, *,
                                 endpoint: Optional[str] = None, queue: str = "default",
                                 python: str = sys.executable,
                                 launch_timeout: float = 300) -> Path:
        """``jupyter remote-kernels install yarn`` for this cluster, as an admin runs it
        (the shipped Spark template, this cluster's Spark settings); returns the installed
        kernelspec's folder under ``prefix``. ``endpoint``: the RM web address the server
        uses (default: the RM's own)."""
        args = [
            "install", "yarn", "--prefix", str(prefix), "--name", name,
            "--endpoint", endpoint or self.rm_url, "--spark-home", str(spark_home()),
            "--spark-opts", self.kernelspec_spark_opts(),
            "--python", python, "--queue", queue, "--launch-timeout", str(launch_timeout),
            "--env", f"HADOOP_CONF_DIR={self.hadoop_conf_dir}",
            "--env", f"JAVA_HOME={self.java_home or java_home()}",
        ]
        done = subprocess.run([sys.executable, "-m", "jupyter_remote_kernels.cli", *args],
                              capture_output=True, text=True, timeout=120, check=False)
        if done.returncode:
            msg = f"jupyter remote-kernels install yarn failed: {done.stderr.strip()[-600:]}"
            raise YarnClusterError(msg)
        return prefix / "share" / "jupyter" / "kernels" / name

    def spark_submit_argv(self, app: Union[str, Path], *app_args: str,
                          name: str = "jrk-test", queue: str = "default",
                          tags: Iterable[str] = (), conf: Optional[dict] = None,
                          jars: str = "local") -> list[str]:
        """argv of ``spark-submit --master yarn --deploy-mode cluster`` for `app`."""
        argv = [str(spark_home() / "bin" / "spark-submit"), "--master", "yarn",
                "--deploy-mode", "cluster", "--name", name, "--queue", queue]
        settings = self.spark_conf(jars, **(conf or {}))
        tags = list(tags)
        if tags:
            settings["spark.yarn.tags"] = ",".join(tags)
        for key, value in settings.items():
            argv += ["--conf", f"{key}={value}"]
        return [*argv, str(app), *app_args]

    # -- REST ------------------------------------------------------------------------------
    def rest(self, path: str, method: str = "GET", body: Optional[dict] = None,
             params: Optional[dict] = None, timeout: float = 30) -> tuple[int, Optional[dict]]:
        """One request to the RM's REST API (``path`` below /ws/v1/cluster, or absolute).
        Returns (status, parsed JSON or None); HTTP errors are returned, not raised."""
        if not path.startswith("/ws/"):
            path = "/ws/v1/cluster/" + path.lstrip("/")
        url = self.rm_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Accept": "application/json", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (OSError, urllib.error.URLError) as exc:
            msg = f"the ResourceManager at {url} did not answer: {exc}"
            raise YarnClusterError(msg) from exc
        try:
            return status, (json.loads(raw) if raw.strip() else None)
        except ValueError:
            return status, {"raw": raw.decode(errors="replace")}

    def apps(self, tags: Iterable[str] = (), states: Iterable[str] = (),
             queue: Optional[str] = None) -> list[dict]:
        params = {}
        if tags:
            params["applicationTags"] = ",".join(tags)
        if states:
            params["states"] = ",".join(states)
        if queue:
            params["queue"] = queue
        status, body = self.rest("apps", params=params)
        if status != 200:
            msg = f"GET apps answered {status}: {body}"
            raise YarnClusterError(msg)
        return ((body or {}).get("apps") or {}).get("app") or []

    def app(self, app_id: str) -> dict:
        status, body = self.rest(f"apps/{app_id}")
        if status != 200:
            msg = f"GET apps/{app_id} answered {status}: {body}"
            raise YarnClusterError(msg)
        return body["app"]

    def kill(self, app_id: str) -> tuple[int, Optional[dict]]:
        """PUT apps/{id}/state KILLED; returns the RM's (status, body)."""
        return self.rest(f"apps/{app_id}/state", "PUT", {"state": "KILLED"})

    def nodes(self) -> list[dict]:
        status, body = self.rest("nodes")
        if status != 200:
            msg = f"GET nodes answered {status}: {body}"
            raise YarnClusterError(msg)
        return ((body or {}).get("nodes") or {}).get("node") or []

    def wait_app(self, app_id: Optional[str] = None, *, tag: Optional[str] = None,
                 states: Iterable[str] = ("RUNNING",), timeout: float = 120,
                 interval: float = 0.25) -> dict:
        """Wait until the app (by id, or the one with `tag`) is in one of `states`; final
        states other than those wanted end the wait with an error carrying diagnostics."""
        states = {s.upper() for s in states}
        final = {"FINISHED", "FAILED", "KILLED"}
        deadline = time.monotonic() + timeout
        app = None
        while time.monotonic() < deadline:
            if app_id:
                app = self.app(app_id)
            else:
                found = self.apps(tags=[tag])
                app = max(found, key=lambda a: int(a["id"].rsplit("_", 1)[1])) if found else None
            if app and app["state"] in states:
                return app
            if app and app["state"] in final:
                msg = (f"application {app['id']} ended {app['state']}/{app['finalStatus']} "
                       f"while waiting for {sorted(states)}: {app.get('diagnostics')}")
                raise YarnClusterError(msg)
            time.sleep(interval)
        msg = (f"application {app_id or 'tagged ' + str(tag)} did not reach {sorted(states)} "
               f"within {timeout}s; last seen: {app and (app['state'], app.get('diagnostics'))}")
        raise YarnClusterError(msg)

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
        pids = {p for p in on_hosts if _environ(p).get("CONTAINER_ID")}
        if host is None:
            pids |= _container_pids(self.cluster_timestamp)
        return [(pid, _cmdline(pid)) for pid in sorted(pids) if _running(pid)]

    def kill_container_processes(self, host: Union[TestHost, str, None] = None,
                                 timeout: float = 15) -> list[tuple[int, str]]:
        """SIGKILL the container processes on `host` (all hosts without it), as a host that
        goes down would; e.g. the orphans a SIGKILLed NodeManager leaves (a real NM does
        not clean them up). Returns what was killed, after it is gone."""
        procs = self.container_processes(host)
        left = _kill_and_wait([pid for pid, _ in procs], timeout)
        if left:
            msg = f"container processes {left} survived SIGKILL"
            raise YarnClusterError(msg)
        return procs

    def clear(self, timeout: float = 60) -> list[str]:
        """Kill every application still alive and any container process left, so what one
        test left cannot fail the next (tests assert their own leftovers first). Returns
        the ids of the applications it killed."""
        live = ("NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING")
        killed = [app["id"] for app in self.apps(states=live)]
        for app_id in killed:
            self.kill(app_id)
        deadline = time.monotonic() + timeout
        while self.apps(states=live) and time.monotonic() < deadline:
            time.sleep(0.5)
        while self.container_processes() and time.monotonic() < deadline:
            time.sleep(0.5)
        self.kill_container_processes()
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
        self._record()
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
            self._check_alive()
            with contextlib.suppress(YarnClusterError):
                nodes = self.nodes()
                running = {n["id"] for n in nodes if n.get("state") == "RUNNING"}
                if want <= running:
                    return nodes
            time.sleep(0.25)
        logs = "\n".join(f"--- {self.nm_log(h)}:\n{_tail(self.nm_log(h), 15)}"
                         for h in self.hosts)
        msg = (f"NodeManagers {sorted(want)} not RUNNING at {self.rm_url} within {timeout}s; "
               f"nodes: {[(n.get('id'), n.get('state')) for n in nodes]}\n"
               f"--- {self.rm_log}:\n{_tail(self.rm_log, 15)}\n{logs}")
        raise YarnClusterError(msg)

    def _check_alive(self) -> None:
        if self._rm is not None and self._rm.poll() is not None:
            msg = (f"the ResourceManager exited with {self._rm.returncode}; log {self.rm_log}:"
                   f"\n{_tail(self.rm_log)}")
            raise YarnClusterError(msg)
        for name, proc in self._nms.items():
            if proc.poll() is not None and name not in self._state.get("nm_stopped", []):
                log = self.nm_log(name)
                msg = (f"the NodeManager of {name} exited with {proc.returncode}; log {log}:"
                       f"\n{_tail(log)}")
                raise YarnClusterError(msg)

    # -- state file ------------------------------------------------------------------------
    def _record(self, **lists) -> None:
        for key, values in lists.items():
            self._state.setdefault(key, []).extend(values)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._state))
        tmp.replace(self.state_path)

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
            sdir = _state_dir()
            sdir.mkdir(mode=0o700, exist_ok=True)
            with open(sdir / ".lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                cleanup_stale()
                self._state = {"id": self.id, "owner_pid": os.getpid(),
                               "owner_start": _start_time(os.getpid()),
                               "workdir": str(self.workdir), "jvms": [], "nm_hosts": [],
                               "own_workdir": self._own_workdir, "label": self.label}
                self.workdir.mkdir(parents=True, exist_ok=True)
                (self.workdir / _MARKER_FILE).write_text(self.id)
                self._record()
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
            self.ports = {k: _free_port(self.rm_host)
                          for k in ("rpc", "scheduler", "tracker", "admin", "webapp")}
            self._record(nm_hosts=[h.name for h in hosts])
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
            self._record()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        self._state.update(rm_url=self.rm_url, rm_address=self.rm_address,
                           hadoop_conf_dir=str(self.hadoop_conf_dir),
                           ssh_config=str(self.bed.ssh_config_path),
                           hosts=[[h.name, h.hostname, h.address] for h in self.hosts],
                           startup_seconds=round(self.startup_seconds, 1))
        self._record()
        return self

    def state(self) -> dict:
        """What the state file records (read by ``python -m testing.yarncluster status``)."""
        return dict(self._state)

    def _write_confs(self, hosts: list[TestHost]) -> None:
        conf = self.workdir / "conf"
        rm_addr = {
            "yarn.resourcemanager.hostname": self.rm_host,
            "yarn.resourcemanager.address": f"{self.rm_host}:{self.ports['rpc']}",
            "yarn.resourcemanager.scheduler.address": f"{self.rm_host}:{self.ports['scheduler']}",
            "yarn.resourcemanager.resource-tracker.address":
                f"{self.rm_host}:{self.ports['tracker']}",
            "yarn.resourcemanager.admin.address": f"{self.rm_host}:{self.ports['admin']}",
            "yarn.resourcemanager.webapp.address": f"{self.rm_host}:{self.ports['webapp']}",
            # clients and NMs retry a missing RM every second, not every 30 s
            "yarn.resourcemanager.connect.retry-interval.ms": 1000,
            "yarn.resourcemanager.connect.max-wait.ms": 120000,
            "yarn.http.policy": "HTTP_ONLY",
        }
        common = {
            **rm_addr,
            "yarn.scheduler.minimum-allocation-mb": 128,
            "yarn.scheduler.maximum-allocation-mb": self.nm_memory_mb,
            "yarn.scheduler.maximum-allocation-vcores": self.nm_vcores,
            "yarn.resourcemanager.scheduler.class":
                "org.apache.hadoop.yarn.server.resourcemanager.scheduler.capacity."
                "CapacityScheduler",
            "yarn.resourcemanager.recovery.enabled": "false",
            "yarn.resourcemanager.nodemanagers.heartbeat-interval-ms": 500,
            # a NodeManager that stops heartbeating is LOST after 20 s (default 10 min)
            "yarn.nm.liveness-monitor.expiry-interval-ms": 20000,
            "yarn.resourcemanager.nm-container-queuing.enable": "false",
            "yarn.log-aggregation-enable": "false",
            "yarn.timeline-service.enabled": "false",
            "yarn.acl.enable": "false",
        }
        core = {"fs.defaultFS": "file:///",
                "hadoop.tmp.dir": str(self.workdir / "hadoop-tmp"),
                "hadoop.security.authentication": "simple"}
        client = conf / "client"
        client.mkdir(parents=True, exist_ok=True)
        (client / "yarn-site.xml").write_text(_xml(common))
        (client / "core-site.xml").write_text(_xml(core))
        (client / "log4j.properties").write_text(LOG4J)
        rm = conf / "rm"
        rm.mkdir(parents=True, exist_ok=True)
        (rm / "yarn-site.xml").write_text(_xml(common))
        (rm / "core-site.xml").write_text(_xml(
            {**core, "hadoop.tmp.dir": str(self.workdir / "rm" / "tmp")}))
        (rm / "capacity-scheduler.xml").write_text(_xml(self.capacity_scheduler()))
        (rm / "log4j.properties").write_text(LOG4J)
        for h in hosts:
            d = self.nm_dir(h)
            (d / "conf").mkdir(parents=True, exist_ok=True)
            (d / "local").mkdir(exist_ok=True)
            (d / "userlogs").mkdir(exist_ok=True)
            nm = {
                **common,
                # The NM binds the host's address; its NodeId is that address's canonical
                # name (jrk-hostN, from the bed's hosts file), whatever is configured.
                "yarn.nodemanager.hostname": h.address,
                "yarn.nodemanager.address": f"{h.address}:{NM_PORTS['address']}",
                "yarn.nodemanager.localizer.address": f"{h.address}:{NM_PORTS['localizer']}",
                "yarn.nodemanager.webapp.address": f"{h.address}:{NM_PORTS['webapp']}",
                "yarn.nodemanager.local-dirs": str(d / "local"),
                "yarn.nodemanager.log-dirs": str(d / "userlogs"),
                "yarn.nodemanager.resource.memory-mb": self.nm_memory_mb,
                "yarn.nodemanager.resource.cpu-vcores": self.nm_vcores,
                "yarn.nodemanager.resource.detect-hardware-capabilities": "false",
                "yarn.nodemanager.container-executor.class":
                    "org.apache.hadoop.yarn.server.nodemanager.DefaultContainerExecutor",
                "yarn.nodemanager.vmem-check-enabled": "false",
                "yarn.nodemanager.pmem-check-enabled": "false",
                "yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage":
                    "99.9",
                "yarn.nodemanager.disk-health-checker.min-free-space-per-disk-mb": 0,
                "yarn.nodemanager.recovery.enabled": "false",
                "yarn.nodemanager.aux-services": "",
                # keep container dirs (launch_container.sh) 10 min for inspection
                "yarn.nodemanager.delete.debug-delay-sec": 600,
                "yarn.nodemanager.sleep-delay-before-sigkill.ms": 250,
                "yarn.nodemanager.process-kill-wait.ms": 2000,
            }
            (d / "conf" / "yarn-site.xml").write_text(_xml(nm))
            (d / "conf" / "core-site.xml").write_text(_xml(
                {**core, "hadoop.tmp.dir": str(d / "tmp")}))
            (d / "conf" / "log4j.properties").write_text(LOG4J)
        (self.workdir / "staging").mkdir(exist_ok=True)
        (self.workdir / "rm").mkdir(exist_ok=True)

    @staticmethod
    def capacity_scheduler() -> dict:
        """Queues ``default`` and ``small``. ``small``'s AM resource limit (1 % of its
        share) admits exactly one application: the CapacityScheduler always activates a
        queue's first application even above the limit, and keeps later ones ACCEPTED with
        "Queue's AM resource limit exceeded" until it ends."""
        q = "yarn.scheduler.capacity.root"
        return {
            "yarn.scheduler.capacity.maximum-applications": 10000,
            "yarn.scheduler.capacity.maximum-am-resource-percent": 0.8,
            "yarn.scheduler.capacity.node-locality-delay": -1,
            "yarn.scheduler.capacity.resource-calculator":
                "org.apache.hadoop.yarn.util.resource.DefaultResourceCalculator",
            f"{q}.queues": "default,small",
            f"{q}.default.capacity": 90,
            f"{q}.default.maximum-capacity": 100,
            f"{q}.default.user-limit-factor": 10,
            f"{q}.default.maximum-am-resource-percent": 0.8,
            f"{q}.default.state": "RUNNING",
            f"{q}.small.capacity": 10,
            f"{q}.small.maximum-capacity": 40,
            f"{q}.small.user-limit-factor": 10,
            f"{q}.small.maximum-am-resource-percent": 0.01,
            f"{q}.small.state": "RUNNING",
        }

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
        self._record(jvms=[[self._rm.pid, _start_time(self._rm.pid), "rm"]])

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
        self._record(jvms=[[proc.pid, _start_time(proc.pid), host.name]])

    def _wait_rm(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                status, body = self.rest("info", timeout=5)
                if status == 200 and body["clusterInfo"].get("state") == "STARTED":
                    self.cluster_timestamp = str(body["clusterInfo"]["id"])
                    self._state["cluster_timestamp"] = self.cluster_timestamp
                    self._record()
                    return
                last = (status, body)
            except (YarnClusterError, KeyError, TypeError) as exc:
                last = exc
            time.sleep(0.25)
        msg = (f"the ResourceManager did not answer at {self.rm_url} within {timeout}s "
               f"(last: {last}); log {self.rm_log}:\n{_tail(self.rm_log)}")
        raise YarnClusterError(msg)

    # -- stop ------------------------------------------------------------------------------
    def _atexit_stop(self) -> None:
        if self._state.get("owner_pid", os.getpid()) == os.getpid():
            self.stop()

    def stop(self) -> None:
        """Kill the RM, every NM and every container process, wait until they are gone,
        stop the bed if the cluster made it, remove the workdir. Idempotent."""
        if self._stopped or not self._started:
            return
        self._stopped = True
        atexit.unregister(self._atexit_stop)
        errors = []
        procs = [p for p in [self._rm, *self._nms.values()] if p is not None]
        left = _kill_and_wait([p.pid for p in procs if p.poll() is None])
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(5)
        if left:
            errors.append(f"JVMs {left} survived SIGKILL")
        errors += _remove_resources(self._state, remove_workdir=False)
        if self._own_bed and self._bed is not None:
            try:
                self._bed.stop()
            except Exception as exc:
                errors.append(f"bed: {exc}")
        if self._own_workdir and (self.workdir / _MARKER_FILE).is_file():
            shutil.rmtree(self.workdir, ignore_errors=True)
        if errors:
            msg = "YARN test cluster teardown incomplete: " + "; ".join(errors)
            raise YarnClusterError(msg)
        with contextlib.suppress(FileNotFoundError):
            self.state_path.unlink()


def _remove_resources(state: dict, remove_workdir: bool = True) -> list[str]:
    """Kill what `state` records (JVMs, marked processes, containers); returns errors."""
    errors = []
    pids = {pid for pid, start, _ in state.get("jvms", []) if start and _running(pid, start)}
    if state.get("id"):
        pids |= _marked_pids(f"{state['id']}-")
    if state.get("cluster_timestamp"):
        pids |= _container_pids(state["cluster_timestamp"])
    left = _kill_and_wait(pids)
    if state.get("cluster_timestamp"):  # containers forked while we killed
        left += _kill_and_wait(_container_pids(state["cluster_timestamp"]))
    if left:
        errors.append(f"processes {sorted(set(left))} survived SIGKILL")
    workdir = Path(state.get("workdir", "/nonexistent"))
    if remove_workdir and state.get("own_workdir") and (workdir / _MARKER_FILE).is_file():
        shutil.rmtree(workdir, ignore_errors=True)
    return errors


def recorded_clusters() -> list[dict]:
    """The state of every cluster on this machine whose owner is alive."""
    out = []
    for f in sorted(_state_dir().glob("*.json")):
        try:
            state = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if _running(state.get("owner_pid", 0), state.get("owner_start")):
            out.append(state)
    return out


def cleanup_stale() -> list[str]:
    """Remove what clusters whose owner died without stop() left behind; returns their ids."""
    cleaned = []
    for f in sorted(_state_dir().glob("*.json")):
        try:
            state = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        owner = state.get("owner_pid", 0)
        if _running(owner, state.get("owner_start")):
            continue
        if not _remove_resources(state):
            f.unlink(missing_ok=True)
        cleaned.append(state.get("id", f.stem))
    return cleaned

