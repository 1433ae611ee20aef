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
        if getattr(self, "rest_auth", None) is not None:
            return self._rest_with_auth(url, method, body, params, timeout)
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

    def _rest_with_auth(self, url: str, method: str, body: Optional[dict],
                        params: Optional[dict], timeout: float
                        ) -> tuple[int, Optional[dict]]:
        """:meth:`rest` through requests with ``self.rest_auth`` (e.g. SPNEGO)."""
        import requests  # noqa: PLC0415 (only a cluster with rest_auth needs it)

        try:
            resp = requests.request(method, url, params=params, json=body, timeout=timeout,
                                    auth=self.rest_auth,
                                    headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            msg = f"the ResourceManager at {url} did not answer: {exc}"
            raise YarnClusterError(msg) from exc
        try:
            return resp.status_code, (resp.json() if resp.content.strip() else None)
        except ValueError:
            return resp.status_code, {"raw": resp.text}

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

    def submit_command(self, command: str, *, name: str = "jrk-command",
                       max_attempts: int = 2, user: str = "root",
                       queue: str = "default") -> str:
        """Submit ``command`` as the AM container's command over REST (POST
        apps/new-application, POST apps); no ApplicationMaster ever registers for it, as for
        any plain command. Returns the application id."""
        params = {"user.name": user}
        status, body = self.rest("apps/new-application", "POST", params=params)
        if status != 200:
            msg = f"POST apps/new-application answered {status}: {body}"
            raise YarnClusterError(msg)
        app_id = body["application-id"]
        context = {
            "application-id": app_id, "application-name": name, "queue": queue,
            "application-type": "YARN", "max-app-attempts": max_attempts,
            "resource": {"memory": 256, "vCores": 1},
            "am-container-spec": {"commands": {"command": command}},
        }
        status, body = self.rest("apps", "POST", context, params=params)
        if status != 202:
            msg = f"POST apps answered {status}: {body}"
            raise YarnClusterError(msg)
        return app_id

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
