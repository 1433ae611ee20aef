"""The scheduler thread of a :class:`~.cluster.YarnCluster`: app states, AM slots of the
queues, AM container launches, attempts, kills."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
import traceback

from .containers import expand, killpg, launch_script, leader_exited
from .model import (
    FINAL_STATES,
    REGISTER_PATH,
    YarnApp,
    YarnAttempt,
    java_date,
    now_ms,
    parse_app_id,
)


class SchedulerMixin:
    """The scheduler half of :class:`~.cluster.YarnCluster` (its state lives there)."""

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
                    f"[{java_date(app.pending_since)}] Application is added to the scheduler "
                    f"and is not yet activated. Queue's AM resource limit exceeded.  Details : "
                    f"AM Partition = <DEFAULT_PARTITION>; AM Resource Request = "
                    f"<memory:{app.memory}, vCores:{app.vcores}>; Queue Resource Limit for AM = "
                    f"<memory:{limit * app.memory}, vCores:{limit}>; User AM Resource Limit of "
                    f"the queue = <memory:{limit * app.memory}, vCores:{limit}>; Queue AM "
                    f"Resource Usage = <memory:{used * app.memory}, vCores:{used}>; ")
            return
        app.activated = True
        app.pending_since = None
        app.diagnostics = (f"[{java_date()}] Scheduler has assigned a container for AM, "
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
                          log_dir=log_dir, work_dir=cwd, start_time=now_ms())
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
        env.update({k: expand(v, log_dir) for k, v in app.env.items() if k not in nm_env})
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
            f.write(launch_script(env, expand(app.command, log_dir), log_dir, inherited))
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
            app.diagnostics = (f"[{java_date()}] AM container is launched, waiting for AM "
                               f"container to Register with RM")

    def register_attempt(self, app: YarnApp, att: YarnAttempt) -> None:
        """The AM of ``att`` registered (called by :meth:`register_am` and the RM's
        registration endpoint): the attempt, and an ACCEPTED app, become RUNNING."""
        att.registered = True
        att.state = "RUNNING"
        if app.state == "ACCEPTED":
            app.state = "RUNNING"
            app.diagnostics = ""
        # An app being killed stays KILLING.

    def _watch_process(self, app: YarnApp, att: YarnAttempt, now: float) -> None:
        if not att.exit_seen:
            code = leader_exited(att)
            if code is not None:
                att.exit_seen = True
                att.exit_code = code
                # NM container cleanup: leftovers of the group get SIGTERM, then SIGKILL.
                if att.stop_deadline is None:
                    killpg(att.pid, signal.SIGTERM)
                    att.stop_deadline = now + self.cleanup_delay
                else:
                    att.stop_deadline = min(att.stop_deadline, now + self.cleanup_delay)
        if att.stop_deadline is not None and now >= att.stop_deadline and not att.sigkilled:
            killpg(att.pid, signal.SIGKILL)
            att.sigkilled = True
        if att.exit_seen and att.sigkilled:
            att.proc.wait()  # reap: only now may the pid/pgid be reused
            att.done = True
            att.finished_time = now_ms()
            if app.state == "KILLING":
                att.state = "KILLED"
                self._finish(app, "KILLED", "KILLED", "Application killed by user.")
            elif att.exit_code == 0 and att.registered:
                # EMULATOR: a registered AM's exit 0 stands in for
                # finishApplicationMaster(SUCCEEDED).
                att.state = "FINISHED"
                self._finish(app, "FINISHED", "SUCCEEDED", "")
            else:
                # An AM container that ends, with any exit code, before its AM registered
                # (or unregistered) fails the attempt, as Hadoop's RMAppAttemptImpl does
                # (AMContainerCrashedBeforeRunningTransition / ...AtRunningTransition).
                att.state = "FAILED"
                self._attempt_failed(app, att)

    def _attempt_failed(self, app: YarnApp, att: YarnAttempt) -> None:
        rm = self.active
        tracking = f"{rm.url}/cluster/app/{app.app_id}" if rm else f"/cluster/app/{app.app_id}"
        # The NodeManager's container diagnostics: none for an exit 0 (no launch exception).
        container = ("" if att.exit_code == 0 else
                     f"[{java_date()}]Exception from container-launch.\nContainer id: "
                     f"{att.container_id}\nExit code: {att.exit_code}\n")
        att.diagnostics = (
            f"AM Container for {att.attempt_id} exited with  exitCode: {att.exit_code}\n"
            f"Failing this attempt.Diagnostics: {container}For more detailed output, check "
            f"the application tracking page: {tracking} Then click on links to logs of each "
            f"attempt.\n")
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
                killpg(att.pid, signal.SIGTERM)
                deadline = now + self.kill_grace
                att.stop_deadline = (deadline if att.stop_deadline is None
                                     else min(att.stop_deadline, deadline))
            return  # _watch_process finishes the app once the group is gone
        self._finish(app, "KILLED", "KILLED", "Application killed by user.")

    def _finish(self, app: YarnApp, state: str, final_status: str, diagnostics: str) -> None:
        app.state = state
        app.final_status = final_status
        app.diagnostics = diagnostics
        app.finished_time = now_ms()
        app.activated = False

