"""Local child processes of the server: their output, and stopping their process groups.

The local provisioner's launcher and the YARN provisioner's submit command are both
started in a session of their own and stopped the same way.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
from typing import Callable, Optional

__all__ = ["OutputTail", "signal_group", "stop_group"]


class OutputTail:
    """Reads a stream of a child line by line, keeps the last lines and passes each on."""

    def __init__(self, keep: int = 30) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=keep)
        self._task: Optional[asyncio.Task] = None

    def follow(self, stream: Optional[asyncio.StreamReader], emit: Callable[[str], None]) -> None:
        """Start reading ``stream`` (forgetting earlier lines); ``emit`` gets each line."""
        self.lines.clear()
        if stream is not None:
            self._task = asyncio.create_task(self._read(stream, emit))

    async def _read(self, stream: asyncio.StreamReader, emit: Callable[[str], None]) -> None:
        while True:
            raw = await stream.readline()
            if not raw:
                return
            text = raw.decode(errors="replace").rstrip()
            self.lines.append(text)
            emit(text)

    def tail(self, count: int = 15) -> str:
        """The last ``count`` lines."""
        return "\n".join(list(self.lines)[-count:])

    async def finish(self, timeout: float = 2.0) -> None:
        """Wait (bounded) for the stream's end, once the child has exited."""
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout)


def signal_group(pgid: Optional[int], signum: int) -> None:
    """Send ``signum`` to process group ``pgid``; a group that is gone is not an error."""
    if pgid and pgid > 1:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)


async def stop_group(
    process: asyncio.subprocess.Process, grace: float = 5.0, also: Optional[int] = None
) -> None:
    """SIGTERM the group of ``process`` (its own session), SIGKILL it after ``grace`` s.

    ``also`` is a further group (a kernel's) killed with it if the process does not end in
    time. Returns once the process is reaped, or after a further ``grace`` s.
    """
    if process.returncode is None:
        signal_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except asyncio.TimeoutError:
            signal_group(process.pid, signal.SIGKILL)
            signal_group(also, signal.SIGKILL)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(process.wait(), grace)
