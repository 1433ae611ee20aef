"""A thin, blocking client of the YARN ResourceManager REST API, built on yarn-api-client.

Every method blocks (HTTP), so callers on the event loop run them through
:meth:`YarnClient.run`, which uses the client's own small thread pool
(:data:`WORKERS_PER_CLUSTER` threads), never the event loop's default executor: a hung
ResourceManager then delays only YARN work, not Jupyter Server's other thread work.
:class:`~.poller.YarnPoller` and the YARN provisioner do. A ``requests.Session`` is not
thread safe, so each worker thread has its own; the lock guards only which RM is active and
is never held across a network call.

yarn-api-client 1.0.3 has traps, handled here (see ``reference/yarn-rm-rest.md``):

* Its active-RM probe (``check_is_active_rm``: ``GET <rm>/cluster`` with redirects followed)
  takes a standby RM that answers with a 307 to the active one for an active RM. We find the
  active RM ourselves with ``GET /ws/v1/cluster/info`` (answered by a standby itself, with
  ``haState``), without following redirects, and give yarn-api-client only that endpoint.
* Its ``SimpleAuth`` raises ``KeyError`` in the first request when the RM sets no
  ``hadoop.auth`` cookie. We do not use it: simple auth is ``?user.name=NAME`` on every
  request, through the session's default parameters (kept across 307 redirects, whose
  ``Location`` carries the query).
* Its state filters must be upper case; we filter by tag and upper-case the states we read.
* It raises a bare ``APIError("Response finished with status: N. Details: ...")`` for every
  non-200/202 answer; :class:`YarnRequestError` keeps the status and YARN's own message.

Application ids are compared as ``(cluster timestamp, sequence)`` integers, never as
strings: the sequence grows past 9999 (``..._9999`` < ``..._10000``).
"""

from __future__ import annotations

import asyncio
import functools
import getpass
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import requests
from yarn_api_client import ResourceManager
from yarn_api_client.errors import APIError

from .auth import PinnedVerifySession, auth_advice, kerberos_failure, make_auth
from .errors import YarnError

__all__ = [
    "ACTIVE_STATES",
    "FINAL_STATES",
    "WORKERS_PER_CLUSTER",
    "YarnClient",
    "YarnRequestError",
    "app_id_key",
    "app_tags",
]

FINAL_STATES = frozenset({"FINISHED", "FAILED", "KILLED"})
ACTIVE_STATES = ("NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING")
_APP_ID = re.compile(r"^application_(\d+)_(\d+)$")
_STATUS = re.compile(r"status: (\d+)\. Details: (.*)$", re.S)
_WS = "/ws/v1/cluster"
#: Threads per cluster for RM requests (poller, submissions' lookups, kills): enough for
#: the poller and a few kills at once, small enough that a hung RM ties up no more.
WORKERS_PER_CLUSTER = 4


def app_id_key(app_id: str) -> tuple[int, int]:
    """``application_<ts>_<seq>`` as integers, for ordering (``(0, 0)`` when malformed)."""
    match = _APP_ID.match(str(app_id))
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def app_tags(app: dict[str, Any]) -> set[str]:
    """An application's tags: YARN sends them as one comma-separated, lower-cased string."""
    raw = app.get("applicationTags") or ""
    if isinstance(raw, list):
        raw = ",".join(raw)
    return {tag.strip().lower() for tag in str(raw).split(",") if tag.strip()}


class YarnRequestError(YarnError):
    """A ResourceManager answer other than 200/202; ``status`` is the HTTP status (0: none)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def _remote_message(details: str) -> str:
    """YARN's ``RemoteException.message`` out of an error body, else the body itself."""
    try:
        body = json.loads(details)
        return str(body["RemoteException"]["message"])
    except (ValueError, KeyError, TypeError):
        return details.strip()[:300]


class YarnClient:
    """Talks to one YARN cluster through a list of RM endpoints (HA).

    ``endpoints`` are RM web addresses (``http://rm1:8088``); the active one is found on
    first use and again whenever a request fails to connect, an RM answers that it is a
    standby, or a request was redirected (307) to another RM.
    """

    def __init__(
        self,
        endpoints: list[str],
        *,
        user: str = "",
        auth: str = "simple",
        verify: Any = True,
        timeout: float = 10.0,
        log: Any = None,
    ) -> None:
        self.endpoints = [e.strip().rstrip("/") for e in endpoints if e and e.strip()]
        if not self.endpoints:
            msg = "no YARN ResourceManager endpoint configured; set yarn_endpoint"
            raise YarnError(msg)
        self.user = user or getpass.getuser()
        self.auth_kind = auth
        self.verify = verify
        self.timeout = timeout
        self.log = log
        self.active: Optional[str] = None
        self._stale = False
        self._generation = 0  # grows whenever a new active RM was found
        self._lock = threading.Lock()  # guards active/_stale/_generation, no network call
        self._local = threading.local()  # each worker thread's own ResourceManager session
        self._sessions: list[ResourceManager] = []
        self._executor: Optional[ThreadPoolExecutor] = None

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` (a blocking method of this client) in the client's own threads.

        Called from the event loop by the YARN poller and provisioner.
        """
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=WORKERS_PER_CLUSTER, thread_name_prefix="jrk-yarn"
                )
            executor = self._executor
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, functools.partial(fn, *args))

    # ------------------------------------------------------------------ connection

    def _auth(self) -> Any:
        return make_auth(self.auth_kind)

    def _auth_advice(self) -> str:
        return auth_advice(self.auth_kind, self.user)

    def _kerberos_failure(self, endpoint: str, exc: BaseException) -> Optional[YarnError]:
        return kerberos_failure(self.auth_kind, self.user, endpoint, exc)

    def probe(self, endpoint: str) -> dict[str, Any]:
        """``GET /info`` of one RM without following redirects: its ``clusterInfo``."""
        try:
            response = requests.get(
                f"{endpoint}{_WS}/info",
                params={"user.name": self.user} if self.auth_kind == "simple" else None,
                timeout=self.timeout,
                verify=self.verify,
                auth=self._auth(),
                allow_redirects=False,
                headers={"Accept": "application/json"},
            )
        except requests.RequestException as exc:
            failure = self._kerberos_failure(endpoint, exc)
            if failure is not None:
                raise failure from None
            raise
        if response.status_code != 200:
            msg = f"{endpoint} answered GET /info with HTTP {response.status_code}"
            if response.status_code == 401 and self.auth_kind == "kerberos":
                sent = "Authorization" in response.request.headers
                msg += (
                    ": the RM refused the server's Kerberos ticket"
                    if sent
                    else ": the server has no valid Kerberos ticket (none, or it expired)"
                )
            if response.status_code == 401:
                msg += self._auth_advice()
            raise YarnRequestError(msg, response.status_code)
        return response.json().get("clusterInfo") or {}

    def _find_active(self) -> str:
        problems = []
        for endpoint in self.endpoints:
            try:
                info = self.probe(endpoint)
            except YarnRequestError as exc:
                if exc.status == 401:  # not an HA problem: every RM will refuse us alike
                    raise
                problems.append(f"{endpoint}: {exc.__class__.__name__}: {exc}")
                continue
            except (requests.RequestException, ValueError) as exc:
                problems.append(f"{endpoint}: {exc.__class__.__name__}: {exc}")
                continue
            state = str(info.get("haState") or "ACTIVE").upper()
            if state == "ACTIVE":
                return endpoint
            problems.append(f"{endpoint}: {state}")
        msg = (
            "no active YARN ResourceManager among "
            + ", ".join(self.endpoints)
            + " ("
            + "; ".join(problems)
            + "). Check yarn_endpoint / alt_yarn_endpoints and that the RM is up."
        )
        raise YarnError(msg)

    def _connect(self) -> ResourceManager:
        """This thread's session to the active RM, finding the active RM when needed.

        The probes run without the lock: threads that find the RM stale at once may each
        probe, which costs a request but never makes one thread wait for another's network
        call.
        """
        with self._lock:
            known, stale, generation = self.active, self._stale, self._generation
        if known is None or stale:
            active = self._find_active()
            with self._lock:
                if self._generation == generation:  # no other thread got here first
                    previous, self.active = self.active, active
                    self._stale = False
                    self._generation += 1
                    if previous and previous != active and self.log:
                        self.log.warning(
                            "YARN ResourceManager failover: %s -> %s", previous, active
                        )
                known, generation = self.active, self._generation
        mine = getattr(self._local, "rm", None)
        if mine is not None and self._local.generation == generation:
            return mine
        assert known is not None
        try:
            # Given only the endpoint we know is active, yarn-api-client's own probe is harmless.
            rm = ResourceManager(
                service_endpoints=[known],
                timeout=self.timeout,
                auth=self._auth(),
                verify=self.verify,
            )
        except YarnError:
            raise
        except Exception as exc:  # it raises a bare Exception("No active RMs found")
            msg = f"cannot use the YARN ResourceManager at {known}: {exc}"
            raise YarnError(msg) from exc
        session = PinnedVerifySession()
        session.auth, session.verify, session.proxies = (
            rm.session.auth,
            self.verify,
            rm.session.proxies,
        )
        rm.session = session
        if self.auth_kind == "simple":
            rm.session.params = {"user.name": self.user}
        rm.session.hooks["response"].append(self._on_response)
        if mine is not None:
            mine.session.close()
        self._local.rm, self._local.generation = rm, generation
        with self._lock:
            self._sessions = [r for r in self._sessions if r is not mine] + [rm]
        return rm

    def connect(self) -> str:
        """Find the active RM now (no request when already connected); its address."""
        self._connect()
        return str(self.active)

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        # A 307 means the RM we talk to is a standby now: find the active one next time.
        if response.status_code in (307, 308):
            self._mark_stale()

    def _mark_stale(self) -> None:
        with self._lock:
            self._stale = True

    def _call(self, what: str, fn: Callable[[ResourceManager], Any]) -> Any:
        """Run ``fn(rm)`` on the active RM; on a connection failure, fail over once."""
        for attempt in (1, 2):
            rm = self._connect()
            try:
                return fn(rm).data
            except requests.RequestException as exc:
                failure = self._kerberos_failure(str(self.active), exc)
                if failure is not None:
                    raise failure from None
                self._mark_stale()
                if attempt == 2:
                    msg = f"YARN ResourceManager {self.active} failed {what}: {exc}"
                    raise YarnError(msg) from exc
            except APIError as exc:
                match = _STATUS.search(str(exc))
                status = int(match.group(1)) if match else 0
                detail = _remote_message(match.group(2)) if match else str(exc)
                if status in (503,) and attempt == 1:  # a standby without a redirect
                    self._mark_stale()
                    continue
                msg = f"YARN ResourceManager {self.active} refused {what} (HTTP {status}): "
                msg += detail
                if status == 401:
                    msg += self._auth_advice()
                raise YarnRequestError(msg, status) from None
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ API

    def apps_by_tags(self, tags: list[str]) -> list[dict[str, Any]]:
        """Every application carrying any of ``tags`` (one ``GET /apps``)."""
        data = self._call(
            "GET /apps", lambda rm: rm.cluster_applications(application_tags=sorted(tags))
        )
        apps = (data or {}).get("apps") or {}
        return list(apps.get("app") or [])

    def app(self, app_id: str) -> Optional[dict[str, Any]]:
        """One application, or None if the RM does not know it (404)."""
        try:
            data = self._call(f"GET /apps/{app_id}", lambda rm: rm.cluster_application(app_id))
        except YarnRequestError as exc:
            if exc.status == 404:
                return None
            raise
        return (data or {}).get("app")

    def app_state(self, app_id: str) -> Optional[str]:
        """The application's state, upper case (may be an internal one such as KILLING)."""
        try:
            data = self._call(
                f"GET /apps/{app_id}/state", lambda rm: rm.cluster_application_state(app_id)
            )
        except YarnRequestError as exc:
            if exc.status == 404:
                return None
            raise
        return str((data or {}).get("state") or "").upper() or None

    def kill(self, app_id: str) -> str:
        """``PUT /apps/{id}/state {"state": "KILLED"}``; the state the RM answered with."""
        data = self._call(
            f"PUT /apps/{app_id}/state (kill)", lambda rm: rm.cluster_application_kill(app_id)
        )
        return str((data or {}).get("state") or "").upper()

    def metrics(self) -> dict[str, Any]:
        return (self._call("GET /metrics", lambda rm: rm.cluster_metrics()) or {}).get(
            "clusterMetrics"
        ) or {}

    def queue(self, name: str) -> Optional[dict[str, Any]]:
        rm = self._connect()
        try:
            return rm.cluster_scheduler_queue(name)
        except (APIError, KeyError, requests.RequestException) as exc:
            msg = f"YARN ResourceManager {self.active} failed GET /scheduler: {exc}"
            raise YarnError(msg) from exc

    def new_application(self) -> str:
        """``POST /apps/new-application`` (a write: proves the RM accepts our identity)."""
        data = self._call("POST /apps/new-application", lambda rm: rm.cluster_new_application())
        return str((data or {}).get("application-id") or "")

    def submit_application(self, context: dict[str, Any]) -> None:
        """``POST /apps`` with a submission context (``check``'s probe application)."""
        self._call("POST /apps", lambda rm: rm.cluster_submit_application(context))

    def host_of(self, endpoint: Optional[str] = None) -> str:
        return urlsplit(endpoint or self.active or self.endpoints[0]).hostname or ""

    def close(self) -> None:
        """Close every session and stop the worker threads (queued calls are cancelled).

        Called (in a thread) by :meth:`YarnPoller.close` when the server stops.
        """
        with self._lock:
            sessions, self._sessions = self._sessions, []
            executor, self._executor = self._executor, None
            self.active, self._stale = None, False
            self._generation += 1
        for rm in sessions:
            rm.session.close()
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
