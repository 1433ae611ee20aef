"""The SSH service of one server: pooled connections, launch agents and worker threads."""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from ..services import Services
from .agent import AgentRegistry
from .pool import SSHPool

__all__ = ["SERVICE", "SSHConnections", "connections_of"]

#: The entry of the SSH service in the server's :class:`~jupyter_remote_kernels.services.Services`.
SERVICE = "SSH connections"


class SSHConnections:
    """Everything SSH kernels of one server share; closed when the server stops."""

    def __init__(self, max_workers: int = 64) -> None:
        self.pool = SSHPool()
        self.agents = AgentRegistry(self.pool)
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="jrk-ssh")

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run the blocking ``fn(*args)`` in the SSH worker threads; await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    def close(self) -> None:
        """Close every connection (their agents end with them) and the worker threads."""
        self.pool.close()
        self._executor.shutdown(wait=False, cancel_futures=True)


def connections_of(services: Services) -> SSHConnections:
    """The server's SSH service, made on first use."""
    return services.get(SERVICE, SSHConnections)
