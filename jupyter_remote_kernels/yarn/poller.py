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
import contextlib
from typing import Any, Callable, Optional

from ..errors import YarnError
from ..services import Services
from .client import YarnClient, app_id_key, app_tags

__all__ = ["SERVICE", "TAGS_PER_REQUEST", "YarnPoller", "YarnPollers", "pollers_of"]

#: Tags per ``GET /apps`` request: 100 kernel ids keep the URL under 4 KB (RMs serve 8 KB).
TAGS_PER_REQUEST = 100


class YarnPoller:
    """Polls one YARN cluster for the applications of every watched tag.

    Public API: :meth:`watch` / :meth:`unwatch` a tag (reference counted), :meth:`apps`
    (the cached applications of a tag, newest first), :meth:`next_round` (wait for fresh
    data), :attr:`rounds`, :attr:`requests`, :attr:`last_error`; :attr:`client` for direct
    calls (kill, state) run in its threads (``await poller.client.run(...)``).
    """

    def __init__(self, client: YarnClient, interval: float, log: Any) -> None:
        self.client = client
        self.interval = interval
        self.log = log
        self.rounds = 0
        self.requests = 0
        self.last_error: Optional[str] = None
        self._watched: dict[str, int] = {}
        self._apps: dict[str, list[dict[str, Any]]] = {}
        self._listeners: dict[str, Callable[[], None]] = {}
        self._task: Optional[asyncio.Task] = None
        self._wake = asyncio.Event()
        self._round_done = asyncio.Condition()
        self._closed = False

    # ------------------------------------------------------------------ watching

    def watch(self, tag: str, listener: Optional[Callable[[], None]] = None) -> None:
        """Follow the applications tagged ``tag`` (a kernel id) until :meth:`unwatch`.

        ``listener`` (optional) is called with no arguments after each poll round.
        """
        tag = tag.lower()
        self._watched[tag] = self._watched.get(tag, 0) + 1
        if listener is not None:
            self._listeners[tag] = listener
        if self._task is None or self._task.done():
            self._closed = False
            self._task = asyncio.create_task(self._run(), name="jrk-yarn-poller")

    def unwatch(self, tag: str) -> None:
        tag = tag.lower()
        count = self._watched.get(tag, 0) - 1
        if count > 0:
            self._watched[tag] = count
            return
        self._watched.pop(tag, None)
        self._apps.pop(tag, None)
        self._listeners.pop(tag, None)
        if not self._watched:
            self._wake.set()  # the loop ends when nothing is watched

    @property
    def watched(self) -> list[str]:
        return sorted(self._watched)

    def apps(self, tag: str) -> list[dict[str, Any]]:
        """Cached applications tagged ``tag``, newest (highest application id) first."""
        return list(self._apps.get(tag.lower(), []))

    def app(self, tag: str, app_id: str) -> Optional[dict[str, Any]]:
        return next((a for a in self.apps(tag) if a.get("id") == app_id), None)

    async def next_round(self, timeout: float) -> bool:
        """Wait until the next poll round has finished; False on timeout."""
        async with self._round_done:
            try:
                await asyncio.wait_for(self._round_done.wait(), timeout)
            except asyncio.TimeoutError:
                return False
        return True

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        while self._watched and not self._closed:
            await self.poll_once()
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)

    async def poll_once(self) -> None:
        """One round: ``GET /apps`` by tags (one request per :data:`TAGS_PER_REQUEST`)."""
        tags = sorted(self._watched)
        found: dict[str, list[dict[str, Any]]] = {tag: [] for tag in tags}
        error = None
        for start in range(0, len(tags), TAGS_PER_REQUEST):
            chunk = tags[start : start + TAGS_PER_REQUEST]
            self.requests += 1
            try:
                apps = await self.client.run(self.client.apps_by_tags, chunk)
            except YarnError as exc:
                error = str(exc)
                break
            for app in apps:
                app["state"] = str(app.get("state") or "").upper()
                for tag in app_tags(app) & set(chunk):
                    found[tag].append(app)
        if error is None:
            for tag, apps in found.items():
                if tag in self._watched:
                    apps.sort(key=lambda a: app_id_key(a.get("id", "")), reverse=True)
                    self._apps[tag] = apps
        elif error != self.last_error:
            self.log.warning("YARN poll failed (kernels keep their last known state): %s", error)
        self.last_error = error
        self.rounds += 1
        for tag, listener in list(self._listeners.items()):
            try:
                listener()
            except Exception:
                self.log.exception("YARN poll listener of %s failed", tag)
        async with self._round_done:
            self._round_done.notify_all()

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await asyncio.to_thread(self.client.close)


class YarnPollers:
    """The pollers of one server, one per cluster; see the module docstring."""

    def __init__(self, log: Any) -> None:
        self.log = log
        self._pollers: dict[tuple, YarnPoller] = {}

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
        poller = self._pollers.get(key)
        if poller is None:
            client = YarnClient(
                endpoints, user=user, auth=auth, verify=verify, timeout=timeout, log=self.log
            )
            poller = self._pollers[key] = YarnPoller(client, interval, self.log)
        return poller

    def all(self) -> list[YarnPoller]:
        return list(self._pollers.values())

    async def close(self) -> None:
        """Stop every poller (server stop, after the kernels are shut down)."""
        pollers, self._pollers = list(self._pollers.values()), {}
        for poller in pollers:
            await poller.close()


#: The entry of the pollers in the server's :class:`~jupyter_remote_kernels.services.Services`.
SERVICE = "YARN pollers"


def pollers_of(services: Services) -> YarnPollers:
    """The server's YARN pollers, made on first use."""
    return services.get(SERVICE, lambda: YarnPollers(services.log))
