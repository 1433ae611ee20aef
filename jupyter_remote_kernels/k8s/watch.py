"""One list + watch per (cluster, namespace) serves every Kubernetes kernel of the server.

:class:`K8sWatches` is a service of the server (:func:`watches_of`, in the kernel manager's
:class:`~jupyter_remote_kernels.services.Services`, closed at server stop): one
:class:`K8sClient` per cluster and one :class:`PodWatch` per (cluster, namespace). While at
least one kernel is watched, the watch lists the server's pods in the namespace once (label
selector: the server's identity) and then follows them with watch requests from the last
``resourceVersion`` (bookmarks on); an expired version (410 Gone) means a fresh list. Kernels
read the cache (:meth:`PodWatch.pod`); no request is made per kernel.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from typing import Any, Callable, Optional

import aiohttp

from ..provisioning.polling import Pollers, WatchPoller
from ..services import Services
from .client import K8sClient
from .errors import K8sError
from .pod import PodState

__all__ = ["SERVICE", "K8sWatches", "PodWatch", "watches_of"]

#: How many deleted pods the watch remembers (so a kernel can say why its pod went).
_GONE_KEPT = 500


class _Expired(Exception):
    """The watch's resourceVersion is too old (410 Gone): list again."""


class PodWatch(WatchPoller[PodState]):
    """The server's pods in one namespace of one cluster, kept up to date by a watch.

    Public API (besides :class:`~jupyter_remote_kernels.provisioning.polling.WatchPoller`'s
    ``watch`` / ``unwatch`` / ``items`` / ``next_round`` / ``rounds`` / ``last_error``):
    :meth:`pod` (a pod by name, or its last state if deleted), :attr:`synced`,
    :attr:`lists` and :attr:`watches` (requests made), :attr:`running`, :attr:`client`,
    :attr:`namespace`.
    """

    task_name = "jrk-k8s-watch"
    what = "Kubernetes watch"

    def __init__(self, k8s: K8sClient, namespace: str, selector: str, watch_seconds: int,
                 log: Any) -> None:
        super().__init__(0.0, log)
        self.client = k8s
        self.namespace = namespace
        self.selector = selector
        self.watch_seconds = watch_seconds
        self.resource_version: Optional[str] = None
        self.synced = False
        self.lists = self.watches = 0
        self._pods: dict[str, PodState] = {}
        self._gone: dict[str, PodState] = {}
        self._on_change: dict[str, Callable[[], None]] = {}
        self._changed = asyncio.Condition()
        self._stream: Optional[asyncio.Task] = None
        self._backoff = 0.5
        self._sweeps: dict[str, asyncio.Task] = {}

    @property
    def running(self) -> bool:
        """True while the list + watch loop runs (something is watched)."""
        return self._task is not None and not self._task.done()

    # ------------------------------------------------------------------ the cache
    def pod(self, name: str) -> Optional[PodState]:
        """The pod as last seen (a deleted one with ``deleted`` True), or None."""
        return self._pods.get(name) or self._gone.get(name)

    def items(self, key: str) -> list[PodState]:
        """The live pods of kernel ``key``."""
        return [p for p in self._pods.values() if p.kernel_id == key]

    def watch(self, key: str, listener: Optional[Callable[[], None]] = None) -> None:
        if listener is not None:
            self._on_change[key] = listener
        super().watch(key)

    def unwatch(self, key: str) -> None:
        super().unwatch(key)
        if key not in self.watched:
            self._on_change.pop(key, None)
        if not self.watched and self._stream is not None:
            self._stream.cancel()  # nothing to follow: end the watch request now

    async def next_round(self, timeout: float) -> bool:
        """Wait until the cache changes (an event, a list); False on timeout."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except asyncio.TimeoutError:
                return False
        return True

    async def wait_synced(self, timeout: float) -> bool:
        """Wait until the first list is done (a reattach reads the cache right after)."""
        deadline = time.monotonic() + timeout
        while not self.synced and time.monotonic() < deadline:
            await self.next_round(max(0.05, deadline - time.monotonic()))
        return self.synced

    async def confirm_gone(self, name: str, timeout: float) -> bool:
        """Wait until the API says pod ``name`` and its Secret are gone (the watch saw the
        pod deleted, then a read of each answers 404); False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        for kind in ("pod", "secret"):
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                seen = self.pod(name) if kind == "pod" else None
                if seen is not None and not seen.deleted and self.running and not self.last_error:
                    await self.next_round(min(1.0, left))
                    continue
                if await self.client.gone(kind, name, self.namespace):
                    break
                await asyncio.sleep(min(0.5, max(0.0, left)))
        return True

    def _sweep(self, names: set[str]) -> None:
        """Delete this server's pods that ended while no kernel follows them (an earlier
        server died between a launch and its record), with their Secrets."""
        for name in names:
            pod = self._pods.get(name)
            if (pod is None or not pod.ended or pod.deleting or name in self._sweeps
                    or pod.kernel_id in self.watched):  # fmt: skip
                continue
            self.log.info("Deleting pod %s of no kernel of this server (%s)", name, pod.state)
            self._sweeps[name] = task = asyncio.create_task(
                self.client.delete_objects(name, self.namespace, 0)
            )
            task.add_done_callback(lambda _t, n=name: self._sweeps.pop(n, None))

    async def _changed_now(self, names: set[str]) -> None:
        self.rounds += 1
        self._sweep(names)
        kernels = {p.kernel_id for n in names if (p := self.pod(n)) is not None}
        for key in sorted(kernels):
            listener = self._on_change.get(key)
            if listener is not None:
                try:
                    listener()
                except Exception:
                    self.log.exception("Kubernetes watch listener of %s failed", key)
        async with self._changed:
            self._changed.notify_all()

    def _forget(self, name: str) -> None:
        pod = self._pods.pop(name, None)
        if pod is not None:
            self._gone[name] = replace(pod, deleted=True)
            while len(self._gone) > _GONE_KEPT:
                self._gone.pop(next(iter(self._gone)))

    # ------------------------------------------------------------------ list + watch
    async def fetch(self, keys: list[str]) -> dict[str, list[PodState]]:
        """List the server's pods in the namespace; the cache and resourceVersion follow."""
        self.lists += 1
        response = await self.client.call(
            f"list pods ({self.selector}) in {self.namespace}", "list_namespaced_pod",
            self.namespace, label_selector=self.selector, _preload_content=False,
        )  # fmt: skip
        try:
            body = await asyncio.wait_for(response.json(), self.client.timeout)
        finally:
            response.release()
        listed = {}
        for item in body.get("items") or []:
            pod = PodState.from_json(item)
            listed[pod.name] = pod
        changed = set(listed) | set(self._pods)
        for name in set(self._pods) - set(listed):
            self._forget(name)  # deleted while nobody watched
        self._pods.update(listed)
        self.resource_version = str((body.get("metadata") or {}).get("resourceVersion") or "")
        self.synced = True
        await self._changed_now(changed)
        return {key: self.items(key) for key in keys}

    async def poll_once(self) -> None:
        """One step of the loop: list if needed, then one watch request until it ends."""
        try:
            if not self.resource_version:
                await self.fetch(self.watched)
            self._stream = asyncio.current_task()
            await self._follow()
            self._backoff = 0.5
            self.last_error = None
        except _Expired:
            self.log.debug("Kubernetes watch of %s expired (410): listing again", self.namespace)
            self.resource_version = None
        except asyncio.CancelledError:
            if self._closed or not self.watched:
                raise asyncio.CancelledError from None
            # unwatch cancelled a stream someone else re-watched meanwhile: go on
        except (K8sError, OSError, ValueError, asyncio.TimeoutError, aiohttp.ClientError) as exc:
            self.resource_version = None
            if isinstance(exc, K8sError) and exc.status == 410:
                return  # refused up front (410 Gone): the same as an ERROR event, list again
            error = str(exc) or type(exc).__name__
            if error != self.last_error:
                self.log.warning(
                    "Kubernetes watch of namespace %s failed (kernels keep their last known "
                    "state; retrying): %s", self.namespace, error,
                )  # fmt: skip
            self.last_error = error
            await asyncio.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, 10.0)
        finally:
            self._stream = None

    async def _follow(self) -> None:
        """One watch request from :attr:`resource_version`; each event updates the cache."""
        self.watches += 1
        response = await self.client.call(
            f"watch pods ({self.selector}) in {self.namespace}", "list_namespaced_pod",
            self.namespace, label_selector=self.selector, watch=True,
            resource_version=self.resource_version, allow_watch_bookmarks=True,
            timeout_seconds=self.watch_seconds, _preload_content=False,
            timeout=self.watch_seconds + self.client.timeout,
        )  # fmt: skip
        try:
            limit = self.watch_seconds + self.client.timeout
            while self.watched:
                line = await asyncio.wait_for(response.content.readline(), limit)
                if not line:
                    return  # the API server ended the request (timeoutSeconds)
                await self._event(json.loads(line))
        finally:
            response.release()

    async def _event(self, event: dict[str, Any]) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Expired
            msg = f"the watch of namespace {self.namespace} failed: {obj.get('message') or obj}"
            raise K8sError(msg)
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if version:
            self.resource_version = str(version)
        if kind == "BOOKMARK":
            return
        pod = PodState.from_json(obj, deleted=kind == "DELETED")
        if kind == "DELETED":
            self._pods[pod.name] = pod
            self._forget(pod.name)
        else:
            self._pods[pod.name] = pod
        await self._changed_now({pod.name})

    async def close(self) -> None:
        self._closed = True
        stream = self._stream
        if stream is not None:
            stream.cancel()
        await super().close()
        sweeps = list(self._sweeps.values())
        if sweeps:
            await asyncio.wait(sweeps, timeout=self.client.timeout)


class K8sWatches(Pollers[PodWatch]):
    """The server's Kubernetes clients (one per cluster) and watches (one per namespace)."""

    def __init__(self, log: Any) -> None:
        super().__init__(log)
        self._clients: dict[tuple, K8sClient] = {}

    def client(self, kubeconfig: str, context: str, in_cluster: bool, timeout: float) -> K8sClient:
        made = K8sClient(kubeconfig=kubeconfig, context=context, in_cluster=in_cluster,
                         timeout=timeout, log=self.log)  # fmt: skip
        return self._clients.setdefault((*made.key, timeout), made)

    def get(self, k8s: K8sClient, namespace: str, selector: str, watch_seconds: int) -> PodWatch:
        return self.get_or_make(
            (*k8s.key, k8s.timeout, namespace, selector, watch_seconds),
            lambda: PodWatch(k8s, namespace, selector, watch_seconds, self.log),
        )

    async def close(self) -> None:
        await super().close()
        clients, self._clients = list(self._clients.values()), {}
        for one in clients:
            await one.close()


#: The entry of the watches in the server's :class:`~jupyter_remote_kernels.services.Services`.
SERVICE = "Kubernetes watches"


def watches_of(services: Services) -> K8sWatches:
    """The server's Kubernetes watches, made on first use."""
    return services.get(SERVICE, lambda: K8sWatches(services.log))
