"""The local provisioner: the launcher runs on the server's own machine.

It proves the launcher protocol end to end with no cluster, and gives kernels the same
lifecycle as remote ones: signals through the communication port, nothing left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from typing import Any, Optional

from ..launch import protocol
from ..process import OutputTail, signal_group, stop_group
from ..provisioning import LauncherProvisionerBase

__all__ = ["LocalLauncherProvisioner"]


def _to_stderr(text: str) -> None:
    sys.stderr.write(text + "\n")


class LocalLauncherProvisioner(LauncherProvisionerBase):  # type:ignore[misc]
    """Starts the launcher as a local child process of the server."""

    kind = "local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._process: Optional[asyncio.subprocess.Process] = None
        self._output = OutputTail()

    async def response_ip(self) -> str:
        return "127.0.0.1"

    def kernel_bind_ip(self) -> str:
        return "127.0.0.1"

    def connect_ip(self, info: dict[str, Any]) -> str:
        return "127.0.0.1"

    def location(self) -> str:
        pid = self.placement.pid
        return f"{self.kind} · pid {pid}" if pid else super().location()

    async def start_launcher(
        self, cmd: list[str], env: dict[str, str], cwd: Optional[str], bundle: dict[str, Any]
    ) -> None:
        """Start the launcher in its own session; the bundle goes through a stdin pipe.

        Called by ``launch_kernel`` for every launch, restarts included. The launcher's
        stderr is passed on to the server's.
        """
        self.placement.host = os.uname().nodename
        cmd = self.without_site(cmd)
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
        self._output.follow(self._process.stderr, _to_stderr)
        assert self._process.stdin is not None
        with contextlib.suppress(ConnectionError):
            self._process.stdin.write(protocol.encode_bundle(bundle))
            await self._process.stdin.drain()
        self._process.stdin.close()

    def without_site(self, cmd: list[str]) -> list[str]:
        """``cmd`` with ``-S`` after the Python when it runs this package's launcher.

        The launcher needs only the standard library: without ``site`` its Python skips the
        ``.pth`` files of site-packages (whatever they import: editable installs, certifi
        bundles...), most of a Python start. A start of ours then costs little more than a
        plain kernel's, whose Python is the only one. The kernel it starts runs with ``site``.
        """
        if (
            len(cmd) > 1
            and cmd[1] == self.launcher_location()
            and os.path.basename(cmd[0]).startswith("python")
        ):
            return [cmd[0], "-S", *cmd[1:]]
        return cmd

    def launcher_output_tail(self) -> str:
        return self._output.tail()

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
            signal_group(self.kernel_pgid, signal.SIGKILL)
            return
        await stop_group(process, also=self.kernel_pgid)

    async def release(self, restart: bool) -> None:
        """Reap the launcher and stop passing its output on."""
        process, self._process = self._process, None
        if process is not None:
            await stop_group(process, also=self.kernel_pgid)
        await self._output.finish()
