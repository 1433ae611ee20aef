"""One poll per interval for every kernel of a cluster: the loop the backends' pollers share.

A backend that follows its kernels in a cluster (YARN applications, Slurm jobs) asks the
cluster once per interval about every watched kernel together, and its provisioners read the
cached answer. :class:`WatchPoller` is that loop: reference-counted :meth:`~WatchPoller.watch`
/ :meth:`~WatchPoller.unwatch` of keys (kernel ids), one round per interval while something is
watched, a listener per key called after each round, :meth:`~WatchPoller.next_round` to wait
for fresh data. A subclass says how one round asks the cluster (:meth:`~WatchPoller.fetch`).
:class:`Pollers` keeps one poller per cluster for a server (a service in its
:class:`~jupyter_remote_kernels.services.Services`).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
from typing import Any, Callable, Generic, Optional, TypeVar

__all__ = ["Pollers", "WatchPoller"]

Item = TypeVar("Item")
P = TypeVar("P", bound="WatchPoller")


class WatchPoller(abc.ABC, Generic[Item]):
    """Polls one cluster for the items (applications, jobs) of every watched key.

    Public API: :meth:`watch` / :meth:`unwatch`, :meth:`items` (the cached items of a key),
    :meth:`refresh`, :meth:`next_round`, :attr:`rounds`, :attr:`last_error`.
    """

    #: The poll task's name (for stack dumps).
    task_name = "jrk-poller"
    #: What the cluster is called in log messages.
    what = "cluster"

    def __init__(self, interval: float, log: Any) -> None:
        self.interval = interval
        self.log = log
        self.rounds = 0
        self.last_error: Optional[str] = None
        self._watched: dict[str, int] = {}
        self._items: dict[str, list[Item]] = {}
        self._listeners: dict[str, Callable[[], None]] = {}
        self._task: Optional[asyncio.Task] = None
        self._wake = asyncio.Event()
        self._round_done = asyncio.Condition()
        self._closed = False

    @abc.abstractmethod
    async def fetch(self, keys: list[str]) -> dict[str, list[Item]]:
        """Ask the cluster about ``keys``: each key's items, newest first.

        Called once per round with every watched key. Raise an error with a message (it is
        logged once and kept in :attr:`last_error`; the cache keeps its last answer).
        """

    def key(self, key: str) -> str:
        """The form keys are kept in (YARN lower-cases tags)."""
        return key

    # ------------------------------------------------------------------ watching

    def watch(self, key: str, listener: Optional[Callable[[], None]] = None) -> None:
        """Follow the items of ``key`` (a kernel id) until :meth:`unwatch`.

        ``listener`` (optional) is called with no arguments after each poll round.
        """
        key = self.key(key)
        self._watched[key] = self._watched.get(key, 0) + 1
        if listener is not None:
            self._listeners[key] = listener
        if self._task is None or self._task.done():
            self._closed = False
            self._task = asyncio.create_task(self._run(), name=self.task_name)

    def unwatch(self, key: str) -> None:
        key = self.key(key)
        count = self._watched.get(key, 0) - 1
        if count > 0:
            self._watched[key] = count
            return
        self._watched.pop(key, None)
        self._items.pop(key, None)
        self._listeners.pop(key, None)
        if not self._watched:
            self._wake.set()  # the loop ends when nothing is watched

    @property
    def watched(self) -> list[str]:
        return sorted(self._watched)

    def items(self, key: str) -> list[Item]:
        """The cached items of ``key``, newest first."""
        return list(self._items.get(self.key(key), []))

    def refresh(self) -> None:
        """Poll now rather than at the end of the interval (something was just submitted)."""
        self._wake.set()

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
        """One round: :meth:`fetch` for every watched key, then the listeners."""
        keys = sorted(self._watched)
        error = None
        try:
            found = await self.fetch(keys) if keys else {}
        except Exception as exc:  # a subclass's error type: logged once, kept
            error = str(exc) or type(exc).__name__
        else:
            for key in keys:
                if key in self._watched:
                    self._items[key] = found.get(key, [])
        if error is not None and error != self.last_error:
            self.log.warning(
                "%s poll failed (kernels keep their last known state): %s", self.what, error
            )
        self.last_error = error
        self.rounds += 1
        for key, listener in list(self._listeners.items()):
            try:
                listener()
            except Exception:
                self.log.exception("%s poll listener of %s failed", self.what, key)
        async with self._round_done:
            self._round_done.notify_all()

    async def close(self) -> None:
        """Stop polling (server stop)."""
        self._closed = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class Pollers(Generic[P]):
    """The pollers of one server, one per cluster (a key of its settings)."""

    def __init__(self, log: Any) -> None:
        self.log = log
        self._pollers: dict[tuple, P] = {}

    def get_or_make(self, key: tuple, make: Callable[[], P]) -> P:
        """The poller for ``key``, made with ``make()`` on first use."""
        poller = self._pollers.get(key)
        if poller is None:
            poller = self._pollers[key] = make()
        return poller

    def all(self) -> list[P]:
        return list(self._pollers.values())

    async def close(self) -> None:
        """Stop every poller (server stop, after the kernels are shut down)."""
        pollers, self._pollers = list(self._pollers.values()), {}
        for poller in pollers:
            await poller.close()
