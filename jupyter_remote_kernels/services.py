"""The services a server's kernels share: one registry, closed when the server stops.

``RemoteMappingKernelManager.services`` holds the response listener every launcher calls
back to, and whatever a backend shares between its kernels (the SSH connection pool, the
YARN pollers). A provisioner gets its registry from its kernel manager
(:func:`services_of`); a provisioner used without this package's managers makes one of
its own and closes it with its kernel. Backends name their own entries; the core knows
none of them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Awaitable
from typing import Any, Callable, Optional, TypeVar

__all__ = ["Services", "services_of"]

T = TypeVar("T")

#: Called after every launch (restarts included) with the kernel manager.
LaunchHook = Callable[[Any], Awaitable[None]]
#: Called with the kernel id when a kernel is gone for good.
GoneHook = Callable[[str], Awaitable[None]]


class Services:
    """Named per-server services, each made on first use by the factory given to :meth:`get`.

    :meth:`close` closes them in the reverse order they were made: an entry's ``close()``
    is awaited when it is a coroutine function, else run in a thread (it may block, as
    closing SSH connections does).
    """

    def __init__(self, log: Optional[logging.Logger] = None) -> None:
        self.log = log or logging.getLogger(__name__)
        self._items: dict[str, Any] = {}
        self._lock = threading.Lock()
        #: Set by the kernel manager: record a launched kernel (for reattach).
        self.on_launch: Optional[LaunchHook] = None
        #: Set by the kernel manager: forget a kernel that is gone.
        self.on_gone: Optional[GoneHook] = None

    def get(self, name: str, factory: Callable[[], T]) -> T:
        """The service ``name``, made with ``factory()`` if there is none yet."""
        with self._lock:
            if name not in self._items:
                self._items[name] = factory()
            return self._items[name]

    def find(self, name: str) -> Any:
        """The service ``name`` if it was made, else None."""
        with self._lock:
            return self._items.get(name)

    async def close(self) -> None:
        """Close every service (server stop); a failing close is logged, the others go on."""
        with self._lock:
            items = list(self._items.items())[::-1]
            self._items.clear()
        for name, item in items:
            close = getattr(item, "close", None)
            if close is None:
                continue
            self.log.debug("Closing the %s", name)
            try:
                if inspect.iscoroutinefunction(close):
                    await close()
                else:
                    await asyncio.to_thread(close)
            except Exception:
                self.log.exception("Closing the %s failed", name)


def services_of(kernel_manager: Any) -> Optional[Services]:
    """The registry a kernel manager offers its provisioner, if it offers one."""
    found = getattr(kernel_manager, "services", None)
    return found if isinstance(found, Services) else None
