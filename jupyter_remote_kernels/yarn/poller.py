"""One ResourceManager poller per cluster per server: one ``GET /apps`` serves every kernel.

:class:`YarnPollers` is a service of the server (:func:`pollers_of`, in the kernel manager's
:class:`~jupyter_remote_kernels.services.Services`, closed at server stop). It hands out one
:class:`YarnPoller`
per cluster (endpoints + identity + TLS settings + interval). Each poller, while at least one
tag is watched, asks the RM every ``interval`` seconds for the applications carrying any
watched tag (``GET /apps?applicationTags=t1,t2,...``, one request for up to
:data:`TAGS_PER_REQUEST` tags) and keeps the answer; provisioners read that cache
(``poll()``, launch phases) instead of asking the RM themselves.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from ..provisioning.polling import Pollers, WatchPoller
from ..services import Services
from .client import YarnClient, app_id_key, app_tags

__all__ = ["SERVICE", "TAGS_PER_REQUEST", "YarnPoller", "YarnPollers", "pollers_of"]

#: Tags per ``GET /apps`` request: 100 kernel ids keep the URL under 4 KB (RMs serve 8 KB).
TAGS_PER_REQUEST = 100


class YarnPoller(WatchPoller[dict[str, Any]]):
    """Polls one YARN cluster for the applications of every watched tag.

    Public API (besides :class:`~jupyter_remote_kernels.provisioning.polling.WatchPoller`'s):
    :meth:`apps` (the cached applications of a tag, newest first), :meth:`app`,
    :attr:`requests`; :attr:`client` for direct calls (kill, state) run in its threads
    (``await poller.client.run(...)``).
    """

    task_name = "jrk-yarn-poller"
    what = "YARN"

    def __init__(self, client: YarnClient, interval: float, log: Any) -> None:
        super().__init__(interval, log)
        self.client = client
        self.requests = 0

    def key(self, key: str) -> str:
        return key.lower()  # YARN lower-cases tags

    def apps(self, tag: str) -> list[dict[str, Any]]:
        """Cached applications tagged ``tag``, newest (highest application id) first."""
        return self.items(tag)

    def app(self, tag: str, app_id: str) -> Optional[dict[str, Any]]:
        return next((a for a in self.apps(tag) if a.get("id") == app_id), None)

    async def fetch(self, keys: list[str]) -> dict[str, list[dict[str, Any]]]:
        """One round: ``GET /apps`` by tags (one request per :data:`TAGS_PER_REQUEST`)."""
        found: dict[str, list[dict[str, Any]]] = {tag: [] for tag in keys}
        for start in range(0, len(keys), TAGS_PER_REQUEST):
            chunk = keys[start : start + TAGS_PER_REQUEST]
            self.requests += 1
            apps = await self.client.run(self.client.apps_by_tags, chunk)
            for app in apps:
                app["state"] = str(app.get("state") or "").upper()
                for tag in app_tags(app) & set(chunk):
                    found[tag].append(app)
        for apps in found.values():
            apps.sort(key=lambda a: app_id_key(a.get("id", "")), reverse=True)
        return found

    async def close(self) -> None:
        await super().close()
        await asyncio.to_thread(self.client.close)


class YarnPollers(Pollers[YarnPoller]):
    """The YARN pollers of one server, one per cluster; see the module docstring."""

    def get(
        self,
        endpoints: list[str],
        *,
        user: str,
        auth: str,
        verify: Any,
        timeout: float,
        interval: float,
    ) -> YarnPoller:
        key = (tuple(endpoints), user, auth, str(verify), timeout, interval)

        def make() -> YarnPoller:
            client = YarnClient(
                endpoints, user=user, auth=auth, verify=verify, timeout=timeout, log=self.log
            )
            return YarnPoller(client, interval, self.log)

        return self.get_or_make(key, make)


#: The entry of the pollers in the server's :class:`~jupyter_remote_kernels.services.Services`.
SERVICE = "YARN pollers"


def pollers_of(services: Services) -> YarnPollers:
    """The server's YARN pollers, made on first use."""
    return services.get(SERVICE, lambda: YarnPollers(services.log))
