"""The REST routes of an emulated RM (``/ws/v1/cluster/...``)."""

from __future__ import annotations

import json

from .model import BASE, HttpError


class RoutesMixin:
    """Routes of :class:`~.rm.YarnRM`; the answers come from :mod:`.views`."""

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
                        raise HttpError(400, "Only 'KILLED' is allowed "
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
