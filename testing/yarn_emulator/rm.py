"""A YARN ResourceManager REST emulator for tests.

Written from the Apache Hadoop "ResourceManager REST API's" documentation
(``ResourceManagerRest.md``) and, where the docs are silent, from what
``RMWebServices`` / ``RMAppImpl`` / the CapacityScheduler do. It serves
``/ws/v1/cluster/...`` on 127.0.0.1 and *really* runs each submitted
ApplicationMaster command as a local process group, the way a NodeManager's
DefaultContainerExecutor would (``bash -c`` in its own session).

Pieces:

* :class:`YarnCluster` - the cluster state shared by one or more RMs: apps,
  queues, the scheduler thread and the AM processes (the "NodeManager").
* :class:`YarnRM` - one ResourceManager web endpoint (a threaded HTTP server).
  Several RMs on one cluster give HA: exactly one is ACTIVE, the others are
  STANDBY (``/info`` answered locally, everything else 307 to the active RM).

Deliberate choices where real YARN differs or is uncertain are marked
"EMULATOR:" in comments.
"""

from __future__ import annotations

import base64
import collections
import fnmatch
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

__all__ = ["Fault", "RequestRecord", "YarnApp", "YarnAttempt", "YarnCluster", "YarnRM"]

BASE = "/ws/v1/cluster"
# The stand-in for the AM's registerApplicationMaster RPC (see am.py); not part of the
# RM's REST API, so neither counted nor authenticated as REST requests are.
REGISTER_PATH = "/emulator/v1/register-am"
HADOOP_VERSION = "3.5.0"
PUBLIC_STATES = ("NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING",
                 "FINISHED", "FAILED", "KILLED")
FINAL_STATES = frozenset({"FINISHED", "FAILED", "KILLED"})
FINAL_STATUSES = ("UNDEFINED", "SUCCEEDED", "FAILED", "KILLED")
ANONYMOUS_USER = "dr.who"  # hadoop.http.staticuser.user default
APP_ID_RE = re.compile(r"^application_(\d+)_(\d+)$")
MAX_TAG_LENGTH = 100

# Environment a container inherits from the NodeManager (cf.
# yarn.nodemanager.env-whitelist); everything else comes from the submission.
DEFAULT_ENV_WHITELIST = (
    "PATH", "LANG", "LC_ALL", "TZ", "TMPDIR", "HOME", "JAVA_HOME",
    "HADOOP_HOME", "HADOOP_CONF_DIR", "HADOOP_COMMON_HOME", "HADOOP_HDFS_HOME",
    "HADOOP_YARN_HOME", "PYTHONPATH", "VIRTUAL_ENV", "PYENV_ROOT", "PYENV_VERSION",
)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _java_date(ts: Optional[float] = None) -> str:
    """Date like Java's Date.toString(), as YARN puts in diagnostics."""
    return time.strftime("%a %b %d %H:%M:%S %z %Y", time.localtime(ts))


class HttpError(Exception):
    """An error answered with YARN's RemoteException envelope."""

    KINDS = {
        400: ("BadRequestException", "org.apache.hadoop.yarn.webapp.BadRequestException"),
        401: ("AuthenticationException",
              "org.apache.hadoop.security.authentication.client.AuthenticationException"),
        403: ("ForbiddenException", "org.apache.hadoop.yarn.webapp.ForbiddenException"),
        404: ("NotFoundException", "org.apache.hadoop.yarn.webapp.NotFoundException"),
        405: ("WebApplicationException", "javax.ws.rs.WebApplicationException"),
        500: ("WebApplicationException", "javax.ws.rs.WebApplicationException"),
    }

    def __init__(self, status: int, message: str, exception: Optional[str] = None):
        super().__init__(message)
        self.status = status
        kind, java = self.KINDS.get(status, self.KINDS[500])
        self.body = {"RemoteException": {
            "exception": exception or kind, "message": message, "javaClassName": java}}


def parse_app_id(app_id: str) -> tuple[int, int]:
    """Parse like ApplicationId.fromString; 400 BadRequestException if malformed."""
    if not app_id.startswith("application_"):
        raise HttpError(400, f"java.lang.IllegalArgumentException: Invalid ApplicationId "
                             f"prefix: {app_id}. The valid ApplicationId should start with "
                             f"prefix application")
    m = APP_ID_RE.match(app_id)
    if not m:
        raise HttpError(400, f"java.lang.IllegalArgumentException: Invalid ApplicationId: "
                             f"{app_id}")
    return int(m.group(1)), int(m.group(2))


def format_app_id(ts: int, seq: int) -> str:
    return f"application_{ts}_{seq:04d}"


@dataclass
class Fault:
    """An injected fault: the next ``count`` matching requests hang and/or fail."""

    count: int = 1
    status: Optional[int] = 500
    hang: float = 0.0
    path: Optional[str] = None  # fnmatch pattern on the URL path, e.g. "/ws/v1/cluster/apps*"
    method: Optional[str] = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.count <= 0:
            return False
        if self.method and self.method.upper() != method:
            return False
        return self.path is None or fnmatch.fnmatchcase(path, self.path)


@dataclass
class RequestRecord:
    time: float
    method: str
    path: str
    query: dict


@dataclass
class YarnAttempt:
    number: int
    attempt_id: str
    container_id: str
    log_dir: str
    work_dir: str
    start_time: int
    proc: Optional[subprocess.Popen] = None
    pid: Optional[int] = None
    registered: bool = False
    launched_monotonic: float = 0.0
    exit_code: Optional[int] = None
    exit_seen: bool = False      # leader exited (zombie, not yet reaped)
    stop_deadline: Optional[float] = None  # SIGKILL the group at this time
    sigkilled: bool = False
    token: str = ""              # stands in for the AMRM token of the attempt
    done: bool = False           # leader reaped, group cleaned up
    finished_time: int = 0
    state: str = "LAUNCHED"
    diagnostics: str = ""


@dataclass
class YarnApp:
    app_id: str
    seq: int
    user: str
    name: str
    queue: str
    app_type: str
    tags: list
    priority: int
    command: str
    env: dict
    max_attempts: int
    memory: int
    vcores: int
    started_time: int
    state: str = "NEW"           # internal RMAppState (may be KILLING)
    final_status: str = "UNDEFINED"
    diagnostics: str = ""
    launch_time: int = 0
    finished_time: int = 0
    activated: bool = False      # holds an AM slot in its queue
    pending_since: Optional[float] = None
    attempts: list = field(default_factory=list)
    kill_requested: Optional[float] = None  # monotonic time of the PUT
    state_before_kill: Optional[str] = None
    kill_started: bool = False

    @property
    def public_state(self) -> str:
        """YarnApplicationState: internal KILLING shows as the state before it."""
        if self.state == "KILLING":
            return self.state_before_kill or "ACCEPTED"
        return self.state

    @property
    def current_attempt(self) -> Optional[YarnAttempt]:
        return self.attempts[-1] if self.attempts else None

    def am_alive(self) -> bool:
        att = self.current_attempt
        return bool(att and att.proc is not None and not att.done)


class YarnCluster:
    """Cluster state shared by the RMs, the scheduler thread and the AM processes.

    Options:
      queues: ``{name: max_running_apps or None}``; default ``{"default": None}``.
        ``max_running_apps`` emulates the CapacityScheduler's AM resource limit:
        beyond it apps stay ACCEPTED (AM not started) until a slot frees.
      max_app_attempts: yarn.resourcemanager.am.max-attempts (default 2). A
        submission's ``max-app-attempts`` <= 0 or above it is replaced by it,
        as RMAppImpl does.
      register_delay: seconds the stand-in AM (:mod:`.am`, which :mod:`.submit` puts in
        front of every AM command) takes before it registers; only a registration makes
        an application RUNNING, as on a real RM. None: it never registers (the app stays
        ACCEPTED until :meth:`register_am`). Passed to the AM as
        ``EMULATOR_AM_REGISTER_DELAY``; the RM itself has no timer for it.
      kill_delay: seconds between the kill PUT and the start of the kill.
      kill_grace: seconds between SIGTERM and SIGKILL of the AM process group.
      cleanup_delay: after the AM leader exits by itself, leftover processes of
        its group get SIGTERM, then SIGKILL after this delay (the NM's
        sleep-delay-before-sigkill, 250 ms).
      env_whitelist: environment names a container inherits from this process.
      app_order: order of ``GET /apps``: "random" (real RMs iterate a hash map,
        so clients must not rely on any order), "submission" or "reverse".
      am_memory_mb / am_vcores: AM resource when the submission gives none.
      work_dir: where container work and log dirs go (a temp dir by default,
        removed at shutdown).
    """

    def __init__(self, *, queues: Optional[dict] = None, max_app_attempts: int = 2,
                 register_delay: Optional[float] = 0.2, kill_delay: float = 0.2,
                 kill_grace: float = 3.0, cleanup_delay: float = 0.25,
                 env_whitelist=DEFAULT_ENV_WHITELIST, app_order: str = "random",
                 am_memory_mb: int = 1024, am_vcores: int = 1,
                 node_memory_mb: int = 65536, node_vcores: int = 32,
                 nm_host: str = "127.0.0.1", nm_port: int = 45454, nm_http_port: int = 8042,
                 work_dir: Optional[str] = None, tick: float = 0.02,
                 random_seed: Optional[int] = None):
        self.queues = dict(queues) if queues else {"default": None}
        self.max_app_attempts = max_app_attempts
        self.register_delay = register_delay
        self.kill_delay = kill_delay
        self.kill_grace = kill_grace
        self.cleanup_delay = cleanup_delay
        self.env_whitelist = tuple(env_whitelist)
        if app_order not in ("random", "submission", "reverse"):
            raise ValueError(f"app_order must be random, submission or reverse: {app_order!r}")
        self.app_order = app_order
        self.am_memory_mb = am_memory_mb
        self.am_vcores = am_vcores
        self.node_memory_mb = node_memory_mb
        self.node_vcores = node_vcores
        self.nm_host = nm_host
        self.nm_port = nm_port
        self.nm_http_port = nm_http_port
        self.tick = tick
        self._random = random.Random(random_seed)
        self._own_work_dir = work_dir is None
        self.work_dir = str(work_dir) if work_dir else tempfile.mkdtemp(prefix="yarn-emulator-")
        self.secret = os.urandom(32)  # signs hadoop.auth cookies
        self.lock = threading.RLock()
        self.apps: dict[str, YarnApp] = {}
        self.rms: list[YarnRM] = []
        self.active: Optional[YarnRM] = None
        self.apps_submitted = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._shut_down = False

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> None:
        with self.lock:
            if self._thread is not None or self._shut_down:
                return
            os.makedirs(self.work_dir, exist_ok=True)
            self._thread = threading.Thread(target=self._run, name="yarn-emulator-scheduler",
                                            daemon=True)
            self._thread.start()

    def attach(self, rm: YarnRM, standby: bool) -> None:
        with self.lock:
            self.rms.append(rm)
            if not standby and self.active is None:
                self.active = rm

    def detach(self, rm: YarnRM) -> None:
        """Called by :meth:`YarnRM.stop`; the last RM to go shuts the cluster down."""
        with self.lock:
            if rm in self.rms:
                self.rms.remove(rm)
            if self.active is rm:
                self.active = None
            last = not self.rms
        if last:
            self.shutdown()

    def set_active(self, rm: Optional[YarnRM]) -> None:
        """Make ``rm`` the ACTIVE RM (every other RM becomes STANDBY)."""
        with self.lock:
            if rm is not None and rm not in self.rms:
                raise ValueError("that RM is not part of this cluster")
            self.active = rm

    def failover(self) -> YarnRM:
        """Switch the active role to the next RM of the cluster; return it."""
        with self.lock:
            if not self.rms:
                raise RuntimeError("no RM attached")
            idx = self.rms.index(self.active) + 1 if self.active in self.rms else 0
            self.active = self.rms[idx % len(self.rms)]
            return self.active

    def shutdown(self) -> None:
        """Kill every AM process group started here, join the scheduler thread."""
        with self.lock:
            if self._shut_down:
                return
            self._shut_down = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self.lock:
            attempts = [a for app in self.apps.values() for a in app.attempts
                        if a.proc is not None and not a.done]
            for att in attempts:
                _killpg(att.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.kill_grace
        for att in attempts:
            while time.monotonic() < deadline and not _leader_exited(att):
                time.sleep(0.02)
            _killpg(att.pid, signal.SIGKILL)
            try:
                att.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - uninterruptible sleep
                pass
            until = time.monotonic() + 5  # SIGKILL takes effect asynchronously
            while _group_members(att.pid) and time.monotonic() < until:
                time.sleep(0.02)
            att.done = True
        with self.lock:
            for app in self.apps.values():
                if app.state not in FINAL_STATES:
                    self._finish(app, "KILLED", "KILLED", "ResourceManager emulator shut down.")
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def live_pids(self) -> list:
        """PIDs (= PGIDs) of AM process groups not yet cleaned up."""
        with self.lock:
            return [a.pid for app in self.apps.values() for a in app.attempts
                    if a.proc is not None and not a.done]

    # ----------------------------------------------------------------- app API
    def next_app_id(self, rm: YarnRM) -> str:
        with self.lock:
            return format_app_id(rm.cluster_timestamp, next(rm._seq))

    def submit(self, ctx: dict, user: str) -> YarnApp:
        """Validate a submission context (POST /apps) and create the app in NEW."""
        if not isinstance(ctx, dict):
            raise HttpError(400, "javax.ws.rs.WebApplicationException: the submission "
                                 "context must be a JSON object")
        app_id = ctx.get("application-id")
        if not app_id or not isinstance(app_id, str):
            raise HttpError(400, "java.lang.Exception: application-id is required")
        _, seq = parse_app_id(app_id)
        spec = ctx.get("am-container-spec") or {}
        commands = spec.get("commands") or {}
        command = commands.get("command", "")
        if isinstance(command, list):
            command = " ".join(command)
        env = {}
        entries = (spec.get("environment") or {}).get("entry") or []
        if isinstance(entries, dict):
            entries = [entries]
        for entry in entries:
            env[str(entry["key"])] = str(entry.get("value", ""))
        tags_obj = ctx.get("application-tags") or {}
        tags = tags_obj.get("tag", []) if isinstance(tags_obj, dict) else tags_obj
        if isinstance(tags, str):
            tags = [tags]
        norm_tags = []
        for raw_tag in tags:
            tag = str(raw_tag).strip().lower()  # YARN lower-cases tags
            if len(tag) > MAX_TAG_LENGTH:
                raise HttpError(400, f"java.lang.IllegalArgumentException: Tag {tag} is too "
                                     f"long, maximum allowed length of a tag is "
                                     f"{MAX_TAG_LENGTH}")
            if tag and tag not in norm_tags:
                norm_tags.append(tag)
        try:
            max_attempts = int(ctx.get("max-app-attempts") or 0)
        except (TypeError, ValueError):
            raise HttpError(400, "java.lang.Exception: max-app-attempts must be an int") from None
        if max_attempts <= 0 or max_attempts > self.max_app_attempts:
            max_attempts = self.max_app_attempts  # RMAppImpl caps at the global max
        resource = ctx.get("resource") or {}
        with self.lock:
            if app_id in self.apps:
                # ClientRMService: re-submitting a known id is a no-op success.
                return self.apps[app_id]
            app = YarnApp(
                app_id=app_id, seq=seq, user=user,
                name=str(ctx.get("application-name") or "N/A"),
                queue=str(ctx.get("queue") or "default"),
                app_type=str(ctx.get("application-type") or "YARN"),
                tags=norm_tags, priority=int(ctx.get("priority") or 0),
                command=str(command), env=env, max_attempts=max_attempts,
                memory=int(resource.get("memory") or self.am_memory_mb),
                vcores=int(resource.get("vCores") or self.am_vcores),
                started_time=_now_ms())
            self.apps[app_id] = app
            self.apps_submitted += 1
            return app

    def kill(self, app: YarnApp) -> tuple[int, str]:
        """PUT state KILLED: (200, state) if final, else (202, state) and kill async."""
        with self.lock:
            if app.state in FINAL_STATES:
                return 200, app.state
            if app.state != "KILLING":
                app.state_before_kill = app.state
                app.kill_requested = time.monotonic()
                reply = app.state_before_kill
                app.state = "KILLING"
                return 202, reply
            return 202, app.state

    def register_am(self, app_id: str) -> None:
        """Mark the current AM as registered (for register_delay=None setups)."""
        with self.lock:
            app = self.apps[app_id]
            att = app.current_attempt
            if att is None or att.done:
                raise RuntimeError(f"{app_id} has no running AM")
            self._register(app, att)

    def get(self, app_id: str) -> YarnApp:
        parse_app_id(app_id)
        with self.lock:
            app = self.apps.get(app_id)
        if app is None:
            raise HttpError(404, f"java.lang.Exception: app with id: {app_id} not found")
        return app

    # ----------------------------------------------------------------- scheduler
    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self._step()
            except Exception:  # pragma: no cover - keep the scheduler alive
                traceback.print_exc()

    def _step(self) -> None:
        now = time.monotonic()
        with self.lock:
            for app in sorted(self.apps.values(), key=lambda a: (a.started_time, a.seq)):
                if app.state in FINAL_STATES:
                    continue
                self._advance(app, now)

    def _running_in_queue(self, queue: str) -> int:
        return sum(1 for a in self.apps.values()
                   if a.queue == queue and a.activated and a.state not in FINAL_STATES)

    def _advance(self, app: YarnApp, now: float) -> None:
        att = app.current_attempt
        if att is not None and att.proc is not None and not att.done:
            self._watch_process(app, att, now)
            if app.state in FINAL_STATES:
                return
        if app.state == "KILLING":
            self._advance_kill(app, now)
            return
        if app.state == "NEW":
            app.state = "NEW_SAVING"
        elif app.state == "NEW_SAVING":
            app.state = "SUBMITTED"
        elif app.state == "SUBMITTED":
            if app.queue not in self.queues:
                # EMULATOR: the CapacityScheduler rejects the app asynchronously
                # (APP_REJECTED), so POST /apps still answers 202 and the app ends FAILED.
                self._finish(app, "FAILED", "FAILED",
                             f"Application {app.app_id} submitted by user {app.user} to "
                             f"unknown queue: {app.queue}")
                return
            app.state = "ACCEPTED"
            app.diagnostics = ""
        elif app.state == "ACCEPTED":
            current = app.current_attempt  # _watch_process may have started a new one
            if not app.activated:
                self._try_activate(app, now)
            elif current is None or current.done:
                self._launch(app)

    def _try_activate(self, app: YarnApp, now: float) -> None:
        limit = self.queues.get(app.queue)
        if limit is not None and self._running_in_queue(app.queue) >= limit:
            if app.pending_since is None:
                app.pending_since = time.time()
                used = self._running_in_queue(app.queue)
                app.diagnostics = (
                    f"[{_java_date(app.pending_since)}] Application is added to the scheduler "
                    f"and is not yet activated. Queue's AM resource limit exceeded.  Details : "
                    f"AM Partition = <DEFAULT_PARTITION>; AM Resource Request = "
                    f"<memory:{app.memory}, vCores:{app.vcores}>; Queue Resource Limit for AM = "
                    f"<memory:{limit * app.memory}, vCores:{limit}>; User AM Resource Limit of "
                    f"the queue = <memory:{limit * app.memory}, vCores:{limit}>; Queue AM "
                    f"Resource Usage = <memory:{used * app.memory}, vCores:{used}>; ")
            return
        app.activated = True
        app.pending_since = None
        app.diagnostics = (f"[{_java_date()}] Scheduler has assigned a container for AM, "
                           f"waiting for AM container to be launched")
        self._launch(app)

    def _launch(self, app: YarnApp) -> None:
        """Start the AM container: ``bash -c COMMAND`` in a new session."""
        ts, seq = parse_app_id(app.app_id)
        number = len(app.attempts) + 1
        attempt_id = f"appattempt_{ts}_{seq:04d}_{number:06d}"
        container_id = f"container_{ts}_{seq:04d}_{number:02d}_000001"
        app_dir = os.path.join(self.work_dir, "nm-local-dir", "usercache", app.user,
                               "appcache", app.app_id)
        cwd = os.path.join(app_dir, container_id)
        log_dir = os.path.join(self.work_dir, "userlogs", app.app_id, container_id)
        os.makedirs(cwd, exist_ok=True)
        os.makedirs(log_dir, exist_ok=True)
        att = YarnAttempt(number=number, attempt_id=attempt_id, container_id=container_id,
                          log_dir=log_dir, work_dir=cwd, start_time=_now_ms())
        app.attempts.append(att)
        # Whitelisted variables of the NodeManager's own environment, unless the app sets them.
        inherited = {k: os.environ[k] for k in self.env_whitelist
                     if k in os.environ and k not in app.env}
        env = dict(inherited)
        rm = self.active
        # Set by the NodeManager (before the app's own variables in the script, as in
        # Hadoop's); the submission cannot override these.
        nm_env = {
            "CONTAINER_ID": container_id, "NM_HOST": self.nm_host,
            "NM_PORT": str(self.nm_port), "NM_HTTP_PORT": str(self.nm_http_port),
            "LOCAL_DIRS": app_dir, "LOG_DIRS": log_dir, "USER": app.user,
            "LOGNAME": app.user, "PWD": cwd, "APP_SUBMIT_TIME_ENV": str(app.started_time),
            "MAX_APP_ATTEMPTS": str(app.max_attempts),
        }
        if rm is not None and rm.tls_cert:  # the stand-in AM registers over https
            nm_env["SSL_CERT_FILE"] = rm.tls_cert
        env.update(nm_env)
        env.update({k: _expand(v, log_dir) for k, v in app.env.items() if k not in nm_env})
        att.token = secrets.token_hex(16)
        env.update({
            "EMULATOR_AM_REGISTER_URL": f"{rm.url if rm else ''}{REGISTER_PATH}",
            "EMULATOR_AM_ATTEMPT": attempt_id,
            "EMULATOR_AM_TOKEN": att.token,
            "EMULATOR_AM_REGISTER_DELAY": ("never" if self.register_delay is None
                                           else str(self.register_delay)),
        })
        # As a real NodeManager: the environment and the command go into
        # launch_container.sh unescaped (Hadoop's UnixShellScriptBuilder), so bash
        # strips quotes and expands `$`, backquotes and backslashes in values.
        script = os.path.join(cwd, "launch_container.sh")
        with open(script, "w") as f:
            f.write(launch_script(env, _expand(app.command, log_dir), log_dir, inherited))
        out = open(os.path.join(log_dir, "launch_container.stdout"), "ab")
        err = open(os.path.join(log_dir, "launch_container.stderr"), "ab")
        try:
            proc = subprocess.Popen(["bash", script], cwd=cwd, env=inherited,
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True)
        except OSError as exc:
            att.done = True
            att.exit_code = -1000
            att.state = "FAILED"
            att.diagnostics = f"Exception from container-launch: {exc}"
            self._attempt_failed(app, att)
            return
        finally:
            out.close()
            err.close()
        att.proc = proc
        att.pid = proc.pid
        att.launched_monotonic = time.monotonic()
        if not app.launch_time:
            app.launch_time = att.start_time
        if app.state != "KILLING":
            app.diagnostics = (f"[{_java_date()}] AM container is launched, waiting for AM "
                               f"container to Register with RM")

    def _register(self, app: YarnApp, att: YarnAttempt) -> None:
        att.registered = True
        att.state = "RUNNING"
        if app.state == "ACCEPTED":
            app.state = "RUNNING"
            app.diagnostics = ""
        # An app being killed stays KILLING.

    def _watch_process(self, app: YarnApp, att: YarnAttempt, now: float) -> None:
        if not att.exit_seen:
            code = _leader_exited(att)
            if code is not None:
                att.exit_seen = True
                att.exit_code = code
                # NM container cleanup: leftovers of the group get SIGTERM, then SIGKILL.
                if att.stop_deadline is None:
                    _killpg(att.pid, signal.SIGTERM)
                    att.stop_deadline = now + self.cleanup_delay
                else:
                    att.stop_deadline = min(att.stop_deadline, now + self.cleanup_delay)
        if att.stop_deadline is not None and now >= att.stop_deadline and not att.sigkilled:
            _killpg(att.pid, signal.SIGKILL)
            att.sigkilled = True
        if att.exit_seen and att.sigkilled:
            att.proc.wait()  # reap: only now may the pid/pgid be reused
            att.done = True
            att.finished_time = _now_ms()
            if app.state == "KILLING":
                att.state = "KILLED"
                self._finish(app, "KILLED", "KILLED", "Application killed by user.")
            elif att.exit_code == 0:
                # EMULATOR: exit 0 stands in for finishApplicationMaster(SUCCEEDED).
                att.state = "FINISHED"
                self._finish(app, "FINISHED", "SUCCEEDED", "")
            else:
                att.state = "FAILED"
                self._attempt_failed(app, att)

    def _attempt_failed(self, app: YarnApp, att: YarnAttempt) -> None:
        rm = self.active
        tracking = f"{rm.url}/cluster/app/{app.app_id}" if rm else f"/cluster/app/{app.app_id}"
        att.diagnostics = (
            f"AM Container for {att.attempt_id} exited with  exitCode: {att.exit_code}\n"
            f"Failing this attempt.Diagnostics: [{_java_date()}]Exception from "
            f"container-launch.\nContainer id: {att.container_id}\nExit code: "
            f"{att.exit_code}\nFor more detailed output, check the application tracking "
            f"page: {tracking} Then click on links to logs of each attempt.\n")
        if len(app.attempts) < app.max_attempts:
            app.state = "ACCEPTED"  # RMAppImpl goes back to ACCEPTED for the next attempt
            app.diagnostics = att.diagnostics
            self._launch(app)
        else:
            self._finish(app, "FAILED", "FAILED",
                         f"Application {app.app_id} failed {app.max_attempts} times due to "
                         f"{att.diagnostics}. Failing the application.")

    def _advance_kill(self, app: YarnApp, now: float) -> None:
        if now - app.kill_requested < self.kill_delay:
            return
        att = app.current_attempt
        if att is not None and att.proc is not None and not att.done:
            if not app.kill_started:
                app.kill_started = True
                _killpg(att.pid, signal.SIGTERM)
                deadline = now + self.kill_grace
                att.stop_deadline = (deadline if att.stop_deadline is None
                                     else min(att.stop_deadline, deadline))
            return  # _watch_process finishes the app once the group is gone
        self._finish(app, "KILLED", "KILLED", "Application killed by user.")

    def _finish(self, app: YarnApp, state: str, final_status: str, diagnostics: str) -> None:
        app.state = state
        app.final_status = final_status
        app.diagnostics = diagnostics
        app.finished_time = _now_ms()
        app.activated = False


def _resource(memory: int, vcores: int) -> dict:
    """A resource as the RM's REST API shows one (recorded/app_running.json)."""
    infos = [
        {"maximumAllocation": 9223372036854775807, "minimumAllocation": 0, "name": name,
         "resourceType": "COUNTABLE", "units": units, "value": value}
        for name, units, value in (("memory-mb", "Mi", memory), ("vcores", "", vcores))
    ]
    return {"memory": memory, "vCores": vcores,
            "resourceInformations": {"resourceInformation": infos}}


def launch_script(env: dict, command: str, log_dir: str, inherited) -> str:
    """``launch_container.sh`` as Hadoop's ``UnixShellScriptBuilder`` writes it.

    Every variable is ``export NAME="VALUE"`` and the command ``exec /bin/bash -c
    "COMMAND"``, neither escaped; variables of the NodeManager's whitelist keep a value the
    NodeManager's own environment has and the app does not set (``inherited``) are written
    ``export NAME=${NAME:-"VALUE"}``.
    """
    lines = [
        "#!/bin/bash",
        "",
        "set -o pipefail -e",
        f'export PRELAUNCH_OUT="{log_dir}/prelaunch.out"',
        'exec >"${PRELAUNCH_OUT}"',
        f'export PRELAUNCH_ERR="{log_dir}/prelaunch.err"',
        'exec 2>"${PRELAUNCH_ERR}"',
        'echo "Setting up env variables"',
    ]
    for name, value in env.items():
        if name in inherited:
            lines.append(f'export {name}=${{{name}:-"{value}"}}')
        else:
            lines.append(f'export {name}="{value}"')
    lines += [
        'echo "Launching container"',
        f'exec /bin/bash -c "{command}"',
        "",
    ]
    return "\n".join(lines)


def _expand(text: str, log_dir: str) -> str:
    """NM command/env expansion: <LOG_DIR>, <CPS>, {{VAR}}."""
    text = text.replace("<LOG_DIR>", log_dir).replace("<CPS>", ":")
    return re.sub(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}", r"$\1", text)


def _killpg(pgid: Optional[int], sig: int) -> None:
    """Signal a process group this emulator created (pgid == AM leader pid)."""
    if not pgid:
        return
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_members(pgid: int) -> list:
    """Live (non-zombie) processes of a process group."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


def _leader_exited(att: YarnAttempt) -> Optional[int]:
    """Exit code of the AM leader if it exited, without reaping it (WNOWAIT).

    The zombie keeps its pid, so the pgid cannot be reused by another process
    while leftovers of the group are being killed.
    """
    try:
        res = os.waitid(os.P_PID, att.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        code = att.proc.returncode
        return code if code is None or code >= 0 else 128 - code
    if res is None or res.si_pid == 0:
        return None
    if res.si_code == os.CLD_EXITED:
        return res.si_status
    return 128 + res.si_status  # killed by a signal, as the shell/NM reports it


# ===================================================================== HTTP side
class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, addr, handler, rm):
        self.rm = rm
        self.connections: set = set()
        self.conn_lock = threading.Lock()
        super().__init__(addr, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Jetty(9.4.43.v20210629)"
    sys_version = ""
    timeout = 60

    def setup(self):
        super().setup()
        with self.server.conn_lock:
            self.server.connections.add(self.connection)

    def finish(self):
        with self.server.conn_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format, *args):
        if self.server.rm.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self.server.rm._handle(self, "GET")

    def do_POST(self):
        self.server.rm._handle(self, "POST")

    def do_PUT(self):
        self.server.rm._handle(self, "PUT")

    def do_DELETE(self):
        self.server.rm._handle(self, "DELETE")


class YarnRM:
    """One ResourceManager web endpoint on 127.0.0.1.

    ``YarnRM(**cluster_options)`` makes a single RM with its own
    :class:`YarnCluster` (options as documented there). For HA pass a shared
    ``cluster=`` and ``standby=True`` for the standby RMs. ``standby_of=URL``
    makes a state-less standby that redirects to another process's RM.

    RM options: port (0: any free port), start_seq (first application
    sequence number), cluster_timestamp, require_user_name (POST/PUT without
    ``?user.name=`` or a valid hadoop.auth cookie -> 401), set_auth_cookie
    (answer requests carrying ``user.name`` with a signed ``hadoop.auth``
    cookie, as Hadoop's PseudoAuthenticationHandler does), spnego_keytab (Kerberos:
    every request must carry ``Authorization: Negotiate <token>`` that GSSAPI accepts with
    this service keytab, as Hadoop's KerberosAuthenticationHandler does; ``user.name`` is
    then ignored; the principals it accepted are in ``spnego_principals``), tls_cert and
    tls_key (serve https with this certificate chain and key; its containers get
    ``SSL_CERT_FILE`` pointing at the certificate), verbose.
    """

    _last_ts = 0
    _ts_lock = threading.Lock()

    def __init__(self, *, cluster: Optional[YarnCluster] = None, standby: bool = False,
                 standby_of: Optional[str] = None, port: int = 0, start_seq: int = 1,
                 cluster_timestamp: Optional[int] = None, require_user_name: bool = False,
                 set_auth_cookie: bool = False, spnego_keytab: Optional[str] = None,
                 tls_cert: Optional[str] = None, tls_key: Optional[str] = None,
                 verbose: bool = False, **cluster_options: Any):
        if cluster is not None and cluster_options:
            raise TypeError("pass cluster options to YarnCluster, not to a YarnRM sharing it")
        self.cluster = cluster if cluster is not None else YarnCluster(**cluster_options)
        self.standby_of = standby_of.rstrip("/") if standby_of else None
        self._initial_standby = standby or bool(standby_of)
        self.port = port
        self.cluster_timestamp = cluster_timestamp or self._unique_ts()
        self._seq = itertools.count(start_seq)
        self.require_user_name = require_user_name
        self.set_auth_cookie = set_auth_cookie
        self.spnego_keytab = spnego_keytab
        self.tls_cert, self.tls_key = tls_cert, tls_key
        self.spnego_principals: list = []  # (method, path, principal) of accepted tokens
        self.spnego_refused = 0
        self.verbose = verbose
        self.started_on = 0
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        self._stopping = threading.Event()
        self._count_lock = threading.Lock()
        self.counts: collections.Counter = collections.Counter()
        self.request_log: list[RequestRecord] = []
        self.faults: list[Fault] = []

    @classmethod
    def _unique_ts(cls) -> int:
        # Every RM has its own cluster timestamp (the RM start time), which is
        # part of the application ids it hands out.
        with cls._ts_lock:
            ts = max(_now_ms(), cls._last_ts + 1)
            cls._last_ts = ts
            return ts

    # ----------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("RM not started")
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls_cert else 'http'}://{host}:{port}"

    def start(self) -> YarnRM:
        if self._server is not None:
            return self
        self._server = _Server(("127.0.0.1", self.port), _Handler, self)
        if self.tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls_cert, self.tls_key)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.started_on = _now_ms()
        self.cluster.attach(self, standby=self._initial_standby)
        self.cluster.start()
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"yarn-rm-{self.url}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close connections, join handler threads; the last RM of a
        cluster also kills every AM process group and joins the scheduler."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        with self._server.conn_lock:
            conns = list(self._server.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()  # joins the request threads
        self._thread.join(timeout=10)
        self.cluster.detach(self)

    def __enter__(self) -> YarnRM:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ----------------------------------------------------------------- HA
    @property
    def ha_state(self) -> str:
        if self.standby_of:
            return "STANDBY"
        return "ACTIVE" if self.cluster.active is self else "STANDBY"

    def make_active(self) -> None:
        """Failover to this RM (all other RMs of the cluster become STANDBY)."""
        self.cluster.set_active(self)

    # ----------------------------------------------------------------- test hooks
    def inject_fault(self, status: Optional[int] = 500, count: int = 1,
                     path: Optional[str] = None, method: Optional[str] = None,
                     hang: float = 0.0) -> Fault:
        """The next ``count`` requests matching ``method``/``path`` (fnmatch on
        the URL path) first hang ``hang`` seconds, then answer ``status``
        (None: answer normally after the hang)."""
        fault = Fault(count=count, status=status, hang=hang, path=path, method=method)
        with self._count_lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._count_lock:
            self.faults.clear()

    def count(self, method: Optional[str] = None, path: Optional[str] = None) -> int:
        """Requests seen, by method and/or exact URL path (no query)."""
        with self._count_lock:
            return sum(n for (m, p), n in self.counts.items()
                       if (method is None or m == method) and (path is None or p == path))

    def reset_counts(self) -> None:
        with self._count_lock:
            self.counts.clear()
            self.request_log.clear()

    def app(self, app_id: str) -> YarnApp:
        return self.cluster.get(app_id)

    # ----------------------------------------------------------------- dispatch
    def _handle(self, h: _Handler, method: str) -> None:
        parts = urlsplit(h.path)
        path = parts.path.rstrip("/") or "/"
        if path == REGISTER_PATH and method == "POST":
            self._register_am(h)
            return
        query = parse_qs(parts.query, keep_blank_values=True)
        with self._count_lock:
            self.counts[(method, path)] += 1
            self.request_log.append(RequestRecord(time.time(), method, path, query))
            fault = next((f for f in self.faults if f.matches(method, path)), None)
            if fault is not None:
                fault.count -= 1
                fault.hits += 1
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        extra: dict = {}
        try:
            if fault is not None:
                if fault.hang:
                    self._stopping.wait(fault.hang)
                if self._stopping.is_set():  # the RM is going away: drop the request
                    h.close_connection = True
                    return
                if fault.status is not None:
                    raise HttpError(fault.status, "injected fault")
            if self.ha_state == "STANDBY" and path not in (BASE, BASE + "/info"):
                target = self.standby_of or (self.cluster.active.url
                                             if self.cluster.active else None)
                if target is None:
                    self._send(h, 503, b"This is standby RM. Redirect url is not found.",
                               "text/plain")
                    return
                location = target + h.path
                self._send(h, 307, f"This is standby RM. The redirect url is: {location}"
                           .encode(), "text/plain", {"Location": location})
                return
            user = self._authenticate(h, method, query, extra)
            status, payload, headers = self._route(method, path, query, body, user, h)
            headers.update(extra)
            if payload is None:
                self._send(h, status, b"", "application/json", headers)
            elif isinstance(payload, (bytes, str)):
                data = payload.encode() if isinstance(payload, str) else payload
                self._send(h, status, data, "text/html; charset=utf-8", headers)
            else:
                self._send_json(h, status, payload, headers)
        except HttpError as exc:
            self._send_json(h, exc.status, exc.body, extra)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # pragma: no cover - a bug in the emulator
            err = HttpError(500, f"emulator error: {exc!r}")
            self._send_json(h, 500, err.body, extra)

    def _register_am(self, h: _Handler) -> None:
        """An AM registers (see am.py): its attempt becomes RUNNING, and so its app."""
        length = int(h.headers.get("Content-Length") or 0)
        try:
            body = json.loads(h.rfile.read(length) or b"{}")
            attempt, token = str(body["attempt"]), str(body["token"])
        except (ValueError, KeyError, TypeError):
            self._send_json(h, 400, {"error": "want {attempt, token}"})
            return
        with self.cluster.lock:
            for app in self.cluster.apps.values():
                att = app.current_attempt
                if att is not None and att.attempt_id == attempt and not att.done:
                    if not hmac.compare_digest(att.token, token):
                        break
                    self.cluster._register(app, att)
                    self._send_json(h, 200, {"registered": attempt})
                    return
        self._send_json(h, 403, {"error": f"no running attempt {attempt} with that token"})

    def _send_json(self, h, status, obj, headers=None) -> None:
        self._send(h, status, json.dumps(obj).encode(), "application/json;charset=utf-8",
                   headers)

    @staticmethod
    def _send(h, status, data: bytes, ctype: str, headers=None) -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
            h.send_header("Cache-Control", "no-cache")
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            if data and h.command != "HEAD":
                h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, OSError):
            h.close_connection = True

    # ----------------------------------------------------------------- auth
    def _cookie_user(self, h) -> Optional[str]:
        for part in (h.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name != "hadoop.auth":
                continue
            token = value.strip().strip('"')
            payload, _, sig = token.rpartition("&s=")
            want = base64.b64encode(hmac.new(self.cluster.secret, payload.encode(),
                                             hashlib.sha256).digest()).decode()
            if not hmac.compare_digest(sig, want):
                continue
            fields = dict(p.partition("=")[::2] for p in payload.split("&"))
            if int(fields.get("e", "0")) < _now_ms():
                continue
            return fields.get("u") or None
        return None

    def _spnego_user(self, h, method: str, path: str, extra: dict) -> str:
        """The short name of the Kerberos principal whose SPNEGO token the request carries."""
        import gssapi  # noqa: PLC0415 (only for an RM with SPNEGO)

        scheme, _, token = (h.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "negotiate" or not token.strip():
            extra["WWW-Authenticate"] = "Negotiate"
            raise HttpError(401, "Authentication required")
        try:
            creds = gssapi.Credentials(usage="accept", store={"keytab": self.spnego_keytab})
            ctx = gssapi.SecurityContext(creds=creds, usage="accept")
            answer = ctx.step(base64.b64decode(token.strip(), validate=True))
        except (gssapi.exceptions.GSSError, ValueError) as exc:
            with self._count_lock:
                self.spnego_refused += 1
            extra["WWW-Authenticate"] = "Negotiate"
            raise HttpError(401, f"GSSException: {exc}") from None
        if not ctx.complete:
            with self._count_lock:
                self.spnego_refused += 1
            extra["WWW-Authenticate"] = "Negotiate"
            raise HttpError(401, "GSSException: SPNEGO needs more than one round")
        if answer:  # mutual authentication
            extra["WWW-Authenticate"] = "Negotiate " + base64.b64encode(answer).decode()
        principal = str(ctx.initiator_name)
        with self._count_lock:
            self.spnego_principals.append((method, path, principal))
        return principal.split("@", maxsplit=1)[0].split("/", maxsplit=1)[0]

    def _authenticate(self, h, method: str, query: dict, extra: dict) -> str:
        if self.spnego_keytab:
            return self._spnego_user(h, method, urlsplit(h.path).path, extra)
        name = (query.get("user.name") or [""])[0]
        if name and self.set_auth_cookie:
            payload = f"u={name}&p={name}&t=simple&e={_now_ms() + 36_000_000}"
            sig = base64.b64encode(hmac.new(self.cluster.secret, payload.encode(),
                                            hashlib.sha256).digest()).decode()
            extra["Set-Cookie"] = f'hadoop.auth="{payload}&s={sig}"; Path=/; HttpOnly'
        user = name or self._cookie_user(h)
        if user:
            return user
        if self.require_user_name and method in ("POST", "PUT", "DELETE"):
            # EMULATOR: a cluster whose auth filter disallows anonymous writes
            # answers 401 (the filter's own page is HTML; we use the JSON envelope).
            raise HttpError(401, "Authentication required: anonymous requests are "
                                 "disallowed, pass ?user.name=NAME")
        return ANONYMOUS_USER

    # ----------------------------------------------------------------- routes
    def _route(self, method, path, query, body, user, h):
        if path in ("/cluster", "/") or path.startswith("/cluster/"):
            # The web UI; yarn-api-client probes `<rm>/cluster` to find the active RM.
            if method != "GET":
                raise HttpError(405, "method not allowed")
            return 200, "<html><body>YARN RM emulator</body></html>", {}
        if path == BASE or path == BASE + "/info":
            self._only(method, "GET")
            return 200, {"clusterInfo": self._cluster_info()}, {}
        if not path.startswith(BASE + "/"):
            raise HttpError(404, f"java.lang.Exception: no resource at {path}")
        rest = path[len(BASE) + 1:].split("/")
        if rest == ["metrics"]:
            self._only(method, "GET")
            return 200, {"clusterMetrics": self._metrics()}, {}
        if rest == ["scheduler"]:
            self._only(method, "GET")
            return 200, {"scheduler": {"schedulerInfo": self._scheduler()}}, {}
        if rest == ["nodes"]:
            self._only(method, "GET")
            return 200, {"nodes": {"node": [self._node()]}}, {}
        if rest == ["apps", "new-application"] and method == "POST":
            app_id = self.cluster.next_app_id(self)
            return 200, {"application-id": app_id, "maximum-resource-capability": {
                "memory": self.cluster.node_memory_mb, "vCores": self.cluster.node_vcores}}, {}
        if rest == ["apps"]:
            if method == "POST":
                ctx = self._json(body)
                app = self.cluster.submit(ctx, user)
                return 202, None, {"Location": f"{self.url}{BASE}/apps/{app.app_id}"}
            self._only(method, "GET")
            return 200, {"apps": self._list_apps(query)}, {}
        if rest[0] == "apps" and len(rest) >= 2:
            # Like Jersey's /apps/{appid}: GET /apps/new-application is a bad app id.
            app = self.cluster.get(rest[1])
            if len(rest) == 2:
                self._only(method, "GET")
                return 200, {"app": self._app_info(app)}, {}
            if rest[2:] == ["state"]:
                if method == "GET":
                    with self.cluster.lock:
                        return 200, {"state": app.state}, {}
                self._only(method, "PUT")
                target = self._json(body)
                target = target.get("state") if isinstance(target, dict) else None
                with self.cluster.lock:
                    if target == app.state:
                        return 200, {"state": app.state}, {}
                    if target != "KILLED":
                        raise HttpError(400, "java.lang.Exception: Only 'KILLED' is allowed "
                                             "as a target state.")
                    status, state = self.cluster.kill(app)
                headers = {"Location": f"{self.url}{BASE}/apps/{app.app_id}"} \
                    if status == 202 else {}
                return status, {"state": state}, headers
            if rest[2:] == ["appattempts"]:
                self._only(method, "GET")
                return 200, {"appAttempts": {"appAttempt": self._attempts(app)}}, {}
        raise HttpError(404, f"java.lang.Exception: no resource at {path}")

    @staticmethod
    def _only(method: str, allowed: str) -> None:
        if method != allowed:
            raise HttpError(405, f"HTTP method {method} is not supported by this URL")

    @staticmethod
    def _json(body: bytes):
        try:
            return json.loads(body or b"{}")
        except ValueError:
            raise HttpError(400, "javax.ws.rs.WebApplicationException: request body "
                                 "is not valid JSON") from None

    # ----------------------------------------------------------------- views
    def _cluster_info(self) -> dict:
        return {
            "id": self.cluster_timestamp, "startedOn": self.started_on, "state": "STARTED",
            "haState": self.ha_state, "rmStateStoreName":
                "org.apache.hadoop.yarn.server.resourcemanager.recovery.NullRMStateStore",
            "resourceManagerVersion": HADOOP_VERSION,
            "resourceManagerBuildVersion": f"{HADOOP_VERSION} from emulator by tests",
            "resourceManagerVersionBuiltOn": "2023-06-18T08:22Z",
            "hadoopVersion": HADOOP_VERSION,
            "hadoopBuildVersion": f"{HADOOP_VERSION} from emulator by tests",
            "hadoopVersionBuiltOn": "2023-06-18T08:22Z",
            "haZooKeeperConnectionState": "Could not find leader elector. Verify both HA "
                                          "and automatic failover are enabled.",
        }

    def _metrics(self) -> dict:
        c = self.cluster
        with c.lock:
            apps = list(c.apps.values())
            running = [a for a in apps if a.public_state == "RUNNING"]
            holding = [a for a in apps if a.am_alive()]
            alloc_mb = sum(a.memory for a in holding)
            alloc_vc = sum(a.vcores for a in holding)
            return {
                "appsSubmitted": c.apps_submitted,
                "appsCompleted": sum(1 for a in apps if a.state in FINAL_STATES),
                "appsPending": sum(1 for a in apps if a.public_state in
                                   ("NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED")),
                "appsRunning": len(running),
                "appsFailed": sum(1 for a in apps if a.state == "FAILED"),
                "appsKilled": sum(1 for a in apps if a.state == "KILLED"),
                "reservedMB": 0, "availableMB": c.node_memory_mb - alloc_mb,
                "allocatedMB": alloc_mb, "totalMB": c.node_memory_mb,
                "reservedVirtualCores": 0, "availableVirtualCores": c.node_vcores - alloc_vc,
                "allocatedVirtualCores": alloc_vc, "totalVirtualCores": c.node_vcores,
                "containersAllocated": len(holding), "containersReserved": 0,
                "containersPending": sum(1 for a in apps if a.state == "ACCEPTED"
                                         and not a.activated),
                "totalNodes": 1, "activeNodes": 1, "lostNodes": 0, "unhealthyNodes": 0,
                "decommissioningNodes": 0, "decommissionedNodes": 0, "rebootedNodes": 0,
                "shutdownNodes": 0,
            }

    def _scheduler(self) -> dict:
        c = self.cluster
        share = round(100.0 / len(c.queues), 4)
        queues = []
        total_used = 0.0
        with c.lock:
            for name, limit in c.queues.items():
                apps = [a for a in c.apps.values() if a.queue == name
                        and a.state not in FINAL_STATES]
                active = [a for a in apps if a.activated]
                pending = [a for a in apps if not a.activated]
                mem = sum(a.memory for a in active)
                vcores = sum(a.vcores for a in active)
                queue_mb = c.node_memory_mb * share / 100.0
                used = round(100.0 * mem / queue_mb, 4) if queue_mb else 0.0
                total_used += mem
                queues.append({
                    "type": "capacitySchedulerLeafQueueInfo", "queueName": name,
                    "queuePath": f"root.{name}", "state": "RUNNING",
                    "capacity": share, "maxCapacity": 100.0, "usedCapacity": used,
                    "absoluteCapacity": share, "absoluteMaxCapacity": 100.0,
                    "absoluteUsedCapacity": round(100.0 * mem / c.node_memory_mb, 4),
                    "numApplications": len(apps), "numActiveApplications": len(active),
                    "numPendingApplications": len(pending), "numContainers": len(active),
                    "maxApplications": 10000, "maxApplicationsPerUser": 10000,
                    "maxActiveApplications": limit if limit is not None else 10000,
                    "maxActiveApplicationsPerUser": limit if limit is not None else 10000,
                    "userLimit": 100, "userLimitFactor": 1.0,
                    "usedResources": f"<memory:{mem}, vCores:{vcores}>",
                    "resourcesUsed": {"memory": mem, "vCores": vcores},
                })
        return {
            "type": "capacityScheduler", "capacity": 100.0, "maxCapacity": 100.0,
            "usedCapacity": round(100.0 * total_used / c.node_memory_mb, 4),
            "queueName": "root", "queues": {"queue": queues},
        }

    def _node(self) -> dict:
        c = self.cluster
        m = self._metrics()
        return {
            "rack": "/default-rack", "state": "RUNNING", "id": f"{c.nm_host}:{c.nm_port}",
            "nodeHostName": c.nm_host, "nodeHTTPAddress": f"{c.nm_host}:{c.nm_http_port}",
            "healthStatus": "Healthy", "healthReport": "", "lastHealthUpdate": _now_ms(),
            "version": HADOOP_VERSION, "numContainers": m["containersAllocated"],
            "usedMemoryMB": m["allocatedMB"], "availMemoryMB": m["availableMB"],
            "usedVirtualCores": m["allocatedVirtualCores"],
            "availableVirtualCores": m["availableVirtualCores"],
        }

    def _app_info(self, app: YarnApp) -> dict:
        c = self.cluster
        with c.lock:
            state = app.public_state
            att = app.current_attempt
            final = app.state in FINAL_STATES
            alive = app.am_alive()
            now = _now_ms()
            node_http = f"{c.nm_host}:{c.nm_http_port}"
            info = {
                # Hadoop 3.5 names the queue by its path (recorded/app_running.json).
                "id": app.app_id, "user": app.user, "name": app.name,
                "queue": f"root.{app.queue}",
                "state": state, "finalStatus": app.final_status,
                "progress": 100.0 if final else (10.0 if state == "RUNNING" else 0.0),
                "trackingUI": "History" if final else
                ("ApplicationMaster" if state == "RUNNING" else "UNASSIGNED"),
                "trackingUrl": f"{self.url}/proxy/{app.app_id}/" if state == "RUNNING"
                else f"{self.url}/cluster/app/{app.app_id}",
                "diagnostics": app.diagnostics, "clusterId": self.cluster_timestamp,
                "applicationType": app.app_type,
                "applicationTags": ",".join(sorted(app.tags)),
                "priority": app.priority,
                "startedTime": app.started_time, "launchTime": app.launch_time,
                "finishedTime": app.finished_time,
                "elapsedTime": (app.finished_time or now) - app.started_time,
                "amContainerLogs": (f"http://{node_http}/node/containerlogs/"
                                    f"{att.container_id}/{app.user}") if att else "",
                "amHostHttpAddress": node_http if att else "",
                "amRPCAddress": f"{c.nm_host}:0" if att and att.registered else "N/A:-1",
                "masterNodeId": f"{c.nm_host}:{c.nm_port}" if att else "",
                "allocatedMB": -1 if final else (app.memory if alive else 0),
                "allocatedVCores": -1 if final else (app.vcores if alive else 0),
                "runningContainers": -1 if final else (1 if alive else 0),
                "memorySeconds": 0, "vcoreSeconds": 0,
                "queueUsagePercentage": 0.0, "clusterUsagePercentage": 0.0,
                "preemptedResourceMB": 0, "preemptedResourceVCores": 0,
                "preemptedMemorySeconds": 0, "preemptedVcoreSeconds": 0,
                "reservedMB": 0, "reservedVCores": 0,
                "resourceInfo": {"resourceUsagesByPartition": [{
                    "partitionName": "",
                    "used": _resource(app.memory if alive else 0, app.vcores if alive else 0),
                    "reserved": _resource(0, 0),
                    "pending": _resource(0, 0),
                    "amUsed": _resource(app.memory if alive else 0, app.vcores if alive else 0),
                    "amLimit": _resource(0, 0),
                    "userAmLimit": _resource(0, 0),
                }]},
                "resourceSecondsMap": {"entry": [{"key": "memory-mb", "value": 0},
                                                 {"key": "vcores", "value": 0}]},
                "timeouts": {"timeout": [{"type": "LIFETIME", "expiryTime": "UNLIMITED",
                                          "remainingTimeInSeconds": -1}]},
                "numNonAMContainerPreempted": 0, "numAMContainerPreempted": 0,
                "logAggregationStatus": "DISABLED", "unmanagedApplication": False,
                "amNodeLabelExpression": "",
            }
            # Keys a real RM (3.5) leaves out, as recorded/: no AM address or tracking URL
            # before the AM registered; no AM container before one is allocated (then the
            # AM's resource request instead); a killed app keeps neither its AM RPC address
            # nor its resource usage.
            registered = bool(att and att.registered)
            if not registered or state in ("KILLED", "FAILED"):
                del info["amRPCAddress"]
            if not registered and not final:
                del info["trackingUrl"]
            if att is None:
                del info["amContainerLogs"], info["amHostHttpAddress"]
                if not final:
                    info["resourceRequests"] = [{
                        "priority": 0, "allocationRequestId": -1, "resourceName": "*",
                        "capability": _resource(app.memory, app.vcores), "numContainers": 1,
                        "relaxLocality": True, "nodeLabelExpression": "",
                        "executionTypeRequest": {"executionType": "GUARANTEED",
                                                 "enforceExecutionType": False},
                    }]
            if state in ("KILLED", "FAILED"):
                del info["resourceInfo"]
        return info

    def _attempts(self, app: YarnApp) -> list:
        c = self.cluster
        node_http = f"{c.nm_host}:{c.nm_http_port}"
        with c.lock:
            return [{
                "id": a.number, "appAttemptId": a.attempt_id, "containerId": a.container_id,
                "nodeId": f"{c.nm_host}:{c.nm_port}", "nodeHttpAddress": node_http,
                "logsLink": f"http://{node_http}/node/containerlogs/{a.container_id}/{app.user}",
                "startTime": a.start_time, "finishedTime": a.finished_time,
                "appAttemptState": a.state, "diagnosticsInfo": a.diagnostics,
                "blacklistedNodes": "",
            } for a in app.attempts]

    def _list_apps(self, query: dict) -> dict:
        def one(name):
            vals = query.get(name)
            return vals[0] if vals and vals[0] != "" else None

        def csv(name):
            out = []
            for v in query.get(name, []):
                out.extend(x.strip() for x in v.split(",") if x.strip())
            return out

        states = {s.upper() for s in csv("states")}
        if one("state"):
            states.add(one("state").upper())
        bad = states - set(PUBLIC_STATES)
        if bad:
            raise HttpError(400, f"java.lang.IllegalArgumentException: Invalid application-"
                                 f"state {sorted(bad)[0]} specified. It should be one of "
                                 f"{', '.join(PUBLIC_STATES)}")
        final_status = one("finalStatus")
        if final_status and final_status not in FINAL_STATUSES:
            raise HttpError(400, f"java.lang.IllegalArgumentException: No enum constant "
                                 f"org.apache.hadoop.yarn.api.records.FinalApplicationStatus."
                                 f"{final_status}")

        def num(name, default):
            v = one(name)
            if v is None:
                return default
            try:
                n = int(v)
            except ValueError:
                raise HttpError(400, f"java.lang.NumberFormatException: For input string: "
                                     f"\"{v}\"") from None
            if n < 0:
                raise HttpError(400, f"java.lang.Exception: {name} must be greater than 0")
            return n

        limit = num("limit", None)
        if limit is not None and limit <= 0:
            raise HttpError(400, "java.lang.Exception: limit value must be greater then 0")
        s_begin, s_end = num("startedTimeBegin", 0), num("startedTimeEnd", None)
        f_begin, f_end = num("finishedTimeBegin", 0), num("finishedTimeEnd", None)
        if s_end is not None and s_begin > s_end:
            raise HttpError(400, "java.lang.Exception: startedTimeEnd must be greater than "
                                 "startTimeBegin")
        if f_end is not None and f_begin > f_end:
            raise HttpError(400, "java.lang.Exception: finishTimeEnd must be greater than "
                                 "finishTimeBegin")
        types = {t.lower() for t in csv("applicationTypes")}
        tags = {t.lower() for t in csv("applicationTags")}
        user, queue, name = one("user"), one("queue"), one("name")
        with self.cluster.lock:
            apps = list(self.cluster.apps.values())
            order = self.cluster.app_order
            if order == "random":
                self.cluster._random.shuffle(apps)
            elif order == "reverse":
                apps.reverse()
            out = []
            for a in apps:
                if states and a.public_state not in states:
                    continue
                if final_status and a.final_status != final_status:
                    continue
                if user and a.user != user:
                    continue
                if queue and queue not in (a.queue, f"root.{a.queue}"):
                    continue
                if name and a.name != name:
                    continue
                if types and a.app_type.lower() not in types:
                    continue
                if tags and not tags.intersection(a.tags):
                    continue
                if a.started_time < s_begin or (s_end is not None and a.started_time > s_end):
                    continue
                if (f_begin and a.finished_time < f_begin) or \
                        (f_end is not None and a.finished_time > f_end):
                    continue
                out.append(a)
                if limit is not None and len(out) >= limit:
                    break
        if not out:
            return {}  # Hadoop 3.5: {"apps": {}} when nothing matches (recorded/apps_none)
        return {"app": [self._app_info(a) for a in out]}
