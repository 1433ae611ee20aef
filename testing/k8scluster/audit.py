"""Counting the requests the API server serves (:class:`AuditMixin`), from its own audit log.

kube-apiserver writes one JSON line per request stage to ``<workdir>/audit.log`` (policy:
level ``Metadata`` for everything, stage ``RequestReceived`` omitted, so a request is one
``ResponseComplete`` line and a watch one ``ResponseStarted`` line when it opens and one
``ResponseComplete`` line when it ends). A request is counted once, by its ``auditID``, at
the time the server received it. The log backend is synchronous (``blocking``): a request
that got its response is in the file.

    kubeconfig = k8s.client_kubeconfig("jrk-server")     # a user of its own (system:masters)
    t0 = time.time(); ...  # the Jupyter server uses that kubeconfig
    k8s.requests_by("jrk-server", since=t0)               # [AuditedRequest(verb="watch", ...)]
    k8s.request_rate("jrk-server", since=t0, until=t1)    # requests per second

*who* matches a request's user name exactly or its User-Agent's start (the client's name,
e.g. ``kubernetes_asyncio`` or ``jupyter-remote-kernels``), so a test can tell its own
harness's requests (the admin certificate) from those of the server under test.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

__all__ = ["AUDIT_POLICY", "AuditMixin", "AuditedRequest"]

#: Every request at level Metadata (who, verb, URI, status; no bodies: Secrets stay out).
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1", "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [{"level": "Metadata"}],
}

When = Union[float, datetime.datetime, None]


@dataclass(frozen=True)
class AuditedRequest:
    """One request the API server received (from its audit log)."""

    audit_id: str
    time: float  # epoch seconds, when the server received it
    verb: str  # get, list, watch, create, delete, ...
    uri: str
    user: str
    user_agent: str
    code: Optional[int]  # the response's status code (None: a watch still open)
    ended: Optional[float] = None  # epoch seconds of the response's end (None: still open)

    def by(self, who: str) -> bool:
        return self.user == who or self.user_agent.startswith(who)


def _epoch(value: str) -> float:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _as_epoch(value: When) -> Optional[float]:
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return value


class AuditMixin:
    """The audit log's configuration and reading; needs ``workdir`` and ``pki``."""

    workdir: Path
    pki: Path
    server: str

    @property
    def audit_log(self) -> Path:
        return self.workdir / "audit.log"

    def _audit_args(self) -> list[str]:
        policy = self.workdir / "audit-policy.json"
        policy.write_text(json.dumps(AUDIT_POLICY, indent=1))
        return [f"--audit-policy-file={policy}", f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json", "--audit-log-mode=blocking",
                "--audit-log-maxsize=0", "--audit-log-maxbackup=0"]

    def _audit_state(self) -> dict:
        state = self.__dict__.get("_audit")
        if state is None:
            state = self.__dict__["_audit"] = {"offset": 0, "requests": {},
                                               "lock": threading.Lock()}
        return state

    def audited_requests(self) -> list[AuditedRequest]:
        """Every request in the audit log so far, in the order the server received them
        (the file is read incrementally: a second call reads only the new lines)."""
        state = self._audit_state()
        with state["lock"]:
            if not self.audit_log.exists():
                return []
            seen: dict[str, AuditedRequest] = state["requests"]
            with open(self.audit_log, "rb") as log:
                log.seek(state["offset"])
                data = log.read()
            end = data.rfind(b"\n") + 1  # a line being written stays for the next call
            state["offset"] += end
            for line in data[:end].splitlines():
                try:
                    event = json.loads(line)
                    audit_id = event["auditID"]
                except (ValueError, KeyError):
                    continue
                code = (event.get("responseStatus") or {}).get("code")
                if audit_id in seen:
                    if event.get("stage") == "ResponseComplete":
                        old = seen[audit_id]
                        seen[audit_id] = AuditedRequest(old.audit_id, old.time, old.verb,
                                                        old.uri, old.user, old.user_agent, code,
                                                        _epoch(event["stageTimestamp"]))
                    continue
                seen[audit_id] = AuditedRequest(
                    audit_id=audit_id, time=_epoch(event["requestReceivedTimestamp"]),
                    verb=event.get("verb", ""), uri=event.get("requestURI", ""),
                    user=(event.get("user") or {}).get("username", ""),
                    user_agent=event.get("userAgent", ""),
                    code=code if event.get("stage") == "ResponseComplete" else None,
                    ended=_epoch(event["stageTimestamp"])
                    if event.get("stage") == "ResponseComplete" else None)
            return sorted(seen.values(), key=lambda r: r.time)

    def requests_by(self, who: str, since: When = None,
                    until: When = None) -> list[AuditedRequest]:
        """The requests of user *who* (exact name) or of a User-Agent starting with *who*,
        received in ``[since, until)`` (epoch seconds or datetimes; open ends when None)."""
        lo, hi = _as_epoch(since), _as_epoch(until)
        return [r for r in self.audited_requests() if r.by(who)
                and (lo is None or r.time >= lo) and (hi is None or r.time < hi)]

    def request_rate(self, who: str, since: When, until: When = None) -> float:
        """Requests per second of *who* (see :meth:`requests_by`) over ``[since, until)``;
        *until* defaults to now."""
        lo = _as_epoch(since)
        hi = _as_epoch(until) if until is not None else time.time()
        if lo is None or hi <= lo:
            msg = f"request_rate needs since < until (got {since!r}, {until!r})"
            raise ValueError(msg)
        return len(self.requests_by(who, lo, hi)) / (hi - lo)

    def client_kubeconfig(self, user: str, groups: tuple[str, ...] = ("system:masters",),
                          ) -> Path:
        """A kubeconfig (in the workdir) for a client certificate of user *user* in
        *groups*: the server under test gets a name of its own in the audit log."""
        from .pki import issue_client  # noqa: PLC0415 (see K8sTestCluster.start)

        stem = f"user-{user.replace(':', '-')}"
        issue_client(self.pki, stem, user, groups)
        path = self.workdir / f"{stem}.kubeconfig"
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "jrk", "cluster": {
                "server": self.server, "certificate-authority": str(self.pki / "ca.crt")}}],
            "users": [{"name": user, "user": {
                "client-certificate": str(self.pki / f"{stem}.crt"),
                "client-key": str(self.pki / f"{stem}.key")}}],
            "contexts": [{"name": "jrk", "context": {"cluster": "jrk", "user": user}}],
            "current-context": "jrk"}, indent=1))
        path.chmod(0o600)
        return path
