"""The HTTP side of an emulated RM: the threaded server, its handler and the dispatch
of a request (counts, faults, standby redirects, the AM registration, answers)."""

from __future__ import annotations

import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .model import BASE, REGISTER_PATH, HttpError, RequestRecord


class Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, addr, handler, rm):
        self.rm = rm
        self.connections: set = set()
        self.conn_lock = threading.Lock()
        super().__init__(addr, handler)


class Handler(BaseHTTPRequestHandler):
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


class DispatchMixin:
    """Request dispatch of :class:`~.rm.YarnRM`."""

    def _handle(self, h: Handler, method: str) -> None:
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

    def _register_am(self, h: Handler) -> None:
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
                    self.cluster.register_attempt(app, att)
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
