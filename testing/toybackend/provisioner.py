"""The toy backend's provisioner: the launcher runs here, as a child of the server.

It uses only what any backend may use: the core's launcher base class, its process
helpers and its placement. Its ``location()`` and ``details`` are its own, which is what
the REST API and the lab extension show.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any, Optional

from traitlets import Unicode

from jupyter_remote_kernels.errors import LaunchError
from jupyter_remote_kernels.launch import protocol
from jupyter_remote_kernels.process import OutputTail, signal_group, stop_group
from jupyter_remote_kernels.provisioning import LauncherProvisionerBase

__all__ = ["ToyProvisioner"]


class ToyProvisioner(LauncherProvisionerBase):  # type:ignore[misc]
    """Starts the launcher as a local child process, in a named toy "sandbox"."""

    kind = "toy"

    sandbox = Unicode("sandbox-1", config=True, help="The toy sandbox the kernel runs in.")
    docs_url = Unicode(
        "https://jupyter.org/", config=True, help="A link the placement shows (a URL detail)."
    )

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
        """``toy · sandbox-1 (pid 4242)``."""
        pid = self.placement.pid
        return f"{self.kind} · {self.sandbox}" + (f" (pid {pid})" if pid else "")

    async def start_launcher(
        self, cmd: list[str], env: dict[str, str], cwd: Optional[str], bundle: dict[str, Any]
    ) -> None:
        self.placement.host = os.uname().nodename
        self.placement.set_details({"sandbox": self.sandbox, "docs_url": self.docs_url})
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
            msg = f"toy: cannot run {cmd[0]!r}: {exc.strerror or exc}"
            raise LaunchError(msg) from exc
        self.placement.pid = self._process.pid
        self._output.follow(self._process.stderr, lambda _text: None)
        assert self._process.stdin is not None
        with contextlib.suppress(ConnectionError):
            self._process.stdin.write(protocol.encode_bundle(bundle))
            await self._process.stdin.drain()
        self._process.stdin.close()

    def launcher_output_tail(self) -> str:
        return self._output.tail()

    async def launcher_exit_code(self) -> Optional[int]:
        return None if self._process is None else self._process.returncode

    async def poll(self) -> Optional[int]:
        if self._process is None:
            return await super().poll()
        return self._process.returncode

    async def force_stop(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            signal_group(self.kernel_pgid, signal.SIGKILL)
            return
        await stop_group(process, also=self.kernel_pgid)

    async def release(self, restart: bool) -> None:
        process, self._process = self._process, None
        if process is not None:
            await stop_group(process, also=self.kernel_pgid)
        await self._output.finish()
