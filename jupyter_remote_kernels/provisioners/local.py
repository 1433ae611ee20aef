"""The local provisioner: the launcher runs on the server's own machine.

It proves the launcher protocol end to end with no cluster, and gives kernels the same
lifecycle as remote ones: signals through the communication port, nothing left behind.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import sys
from typing import Any, Optional

from ..launch import protocol
from .base import LauncherProvisionerBase

__all__ = ["LocalLauncherProvisioner"]


class LocalLauncherProvisioner(LauncherProvisionerBase):  # type:ignore[misc]
    """Starts the launcher as a local child process of the server."""

    kind = "local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._process: Optional[asyncio.subprocess.Process] = None
        self._output: collections.deque[str] = collections.deque(maxlen=30)
        self._pump: Optional[asyncio.Task] = None

    async def response_ip(self) -> str:
        return "127.0.0.1"

    def kernel_bind_ip(self) -> str:
        return "127.0.0.1"

    def connect_ip(self, info: dict[str, Any]) -> str:
        return "127.0.0.1"

    async def start_launcher(
        self, cmd: list[str], env: dict[str, str], cwd: Optional[str], bundle: dict[str, Any]
    ) -> None:
        """Start the launcher in its own session; the bundle goes through a stdin pipe."""
        self.placement.host = os.uname().nodename
        self._output.clear()
        try:
            self._process = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as exc:
            msg = f"cannot run {cmd[0]!r}: {exc.strerror or exc}. Check the kernelspec's argv."
            raise OSError(msg) from exc
        self.placement.pid = self._process.pid
        self._pump = asyncio.create_task(self._pump_output(self._process))
        assert self._process.stdin is not None
        with contextlib.suppress(ConnectionError):
            self._process.stdin.write(protocol.encode_bundle(bundle))
            await self._process.stdin.drain()
        self._process.stdin.close()

    async def _pump_output(self, process: asyncio.subprocess.Process) -> None:
        """Pass the launcher's stderr on to the server's, keeping a tail for errors."""
        assert process.stderr is not None
        while True:
            raw = await process.stderr.readline()
            if not raw:
                return
            text = raw.decode(errors="replace").rstrip()
            self._output.append(text)
            sys.stderr.write(text + "\n")

    def launcher_output_tail(self) -> str:
        return "\n".join(list(self._output)[-15:])

    async def launcher_exit_code(self) -> Optional[int]:
        if self._process is None:
            return None
        return self._process.returncode

    async def poll(self) -> Optional[int]:
        """The launcher exits right after its kernel: its process status is the answer.

        A kernel reattached after a server restart is not our child: ask its launcher.
        """
        if self._process is None:
            return await super().poll()
        return self._process.returncode

    async def force_stop(self) -> None:
        """SIGTERM the launcher (it stops its kernel), then SIGKILL both groups."""
        process = self._process
        if process is None or process.returncode is not None:
            self._signal_group(self.kernel_pgid, signal.SIGKILL)
            return
        self._signal_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 5)
        except asyncio.TimeoutError:
            self._signal_group(process.pid, signal.SIGKILL)
            self._signal_group(self.kernel_pgid, signal.SIGKILL)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(process.wait(), 5)

    @staticmethod
    def _signal_group(pgid: Optional[int], signum: int) -> None:
        if pgid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signum)

    async def release(self, restart: bool) -> None:
        """Reap the launcher and stop passing its output on."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            self._process = process
            await self.force_stop()
            self._process = None
        if process is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(process.wait(), 5)
        pump, self._pump = self._pump, None
        if pump is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(pump, 2)
