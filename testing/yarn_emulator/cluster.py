"""The cluster state one or more emulated RMs share."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from typing import TYPE_CHECKING, Optional

from .containers import group_members, killpg, leader_exited
from .model import (
    DEFAULT_ENV_WHITELIST,
    FINAL_STATES,
    MAX_TAG_LENGTH,
    HttpError,
    YarnApp,
    format_app_id,
    now_ms,
    parse_app_id,
)
from .scheduler import SchedulerMixin

if TYPE_CHECKING:
    from .rm import YarnRM


class YarnCluster(SchedulerMixin):
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
        self.rng = random.Random(random_seed)
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
                killpg(att.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.kill_grace
        for att in attempts:
            while time.monotonic() < deadline and not leader_exited(att):
                time.sleep(0.02)
            killpg(att.pid, signal.SIGKILL)
            try:
                att.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - uninterruptible sleep
                pass
            until = time.monotonic() + 5  # SIGKILL takes effect asynchronously
            while group_members(att.pid) and time.monotonic() < until:
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
            return format_app_id(rm.cluster_timestamp, next(rm.app_seq))

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
                started_time=now_ms())
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
            self.register_attempt(app, att)

    def get(self, app_id: str) -> YarnApp:
        parse_app_id(app_id)
        with self.lock:
            app = self.apps.get(app_id)
        if app is None:
            raise HttpError(404, f"java.lang.Exception: app with id: {app_id} not found")
        return app
