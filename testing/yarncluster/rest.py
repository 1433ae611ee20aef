"""The RM REST helpers of the real YARN test cluster."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from typing import Optional

from .deps import YarnClusterError


class RestMixin:
    """REST requests to the RM of :class:`~.cluster.YarnTestCluster`."""

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
