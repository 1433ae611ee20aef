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

Modules: :mod:`.model` (apps, attempts, faults, constants, errors), :mod:`.cluster` and
:mod:`.scheduler` (the cluster state and its scheduler thread), :mod:`.containers` (the
NodeManager side: ``launch_container.sh`` and the AM process groups), :mod:`.server` (the HTTP
server and the dispatch of a request), :mod:`.auth` (``user.name``, cookies, SPNEGO),
:mod:`.routes` (the REST routes) and :mod:`.views` (the JSON answers).

Deliberate choices where real YARN differs or is uncertain are marked
"EMULATOR:" in comments.
"""

from __future__ import annotations

import collections
import itertools
import socket
import ssl
import threading
from typing import Any, Optional

from .auth import AuthMixin
from .cluster import YarnCluster
from .model import Fault, RequestRecord, YarnApp, YarnAttempt, now_ms
from .routes import RoutesMixin
from .server import DispatchMixin, Handler, Server
from .views import ViewsMixin

__all__ = ["Fault", "RequestRecord", "YarnApp", "YarnAttempt", "YarnCluster", "YarnRM"]


class YarnRM(DispatchMixin, AuthMixin, RoutesMixin, ViewsMixin):
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
        self.app_seq = itertools.count(start_seq)
        self.require_user_name = require_user_name
        self.set_auth_cookie = set_auth_cookie
        self.spnego_keytab = spnego_keytab
        self.tls_cert, self.tls_key = tls_cert, tls_key
        self.spnego_principals: list = []  # (method, path, principal) of accepted tokens
        self.spnego_refused = 0
        self.verbose = verbose
        self.started_on = 0
        self._server: Optional[Server] = None
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
            ts = max(now_ms(), cls._last_ts + 1)
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
        self._server = Server(("127.0.0.1", self.port), Handler, self)
        if self.tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls_cert, self.tls_key)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.started_on = now_ms()
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
