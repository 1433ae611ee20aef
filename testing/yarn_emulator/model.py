"""The YARN RM emulator's data model: applications, attempts, injected faults,
request records, YARN's constants and its RemoteException errors."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import time
from dataclasses import dataclass, field
from typing import Optional

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


def now_ms() -> int:
    return int(time.time() * 1000)


def java_date(ts: Optional[float] = None) -> str:
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

