"""Client of a launcher's communication port.

Unix signals cross neither hosts nor users, so interrupts, signals and shutdown go to the
launcher as authenticated messages; the launcher turns them into signals to the kernel's
process group. Each command is one short TCP connection (see :mod:`.protocol`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, Optional

from ..errors import CommPortError
from . import protocol

__all__ = ["CommClient", "CommRefused"]


class CommRefused(CommPortError):
    """Nothing listens on the communication port any more: the launcher has exited."""


class CommClient:
    """Sends authenticated commands to one launcher.

    Made by a provisioner once the launcher has called back; ``timeout`` bounds each
    command as a whole (connect, challenge, reply).
    """

    def __init__(
        self, host: str, port: int, kernel_id: str, auth_key: str, timeout: float = 5.0
    ) -> None:
        self.host = host
        self.port = port
        self.kernel_id = kernel_id
        self._auth_key = auth_key
        self.timeout = timeout

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def send(
        self, cmd: str, signum: Optional[int] = None, args: Optional[dict[str, Any]] = None
    ) -> dict[str, Any]:
        """Send one command (with ``args``, e.g. ``prepare``'s); the launcher's authenticated reply.

        Raises :class:`CommRefused` when nothing listens (the launcher is gone) and
        :class:`~jupyter_remote_kernels.errors.CommPortError` on a timeout or a reply that
        is not authentic.
        """
        try:
            return await asyncio.wait_for(self._send(cmd, signum, args), self.timeout)
        except ConnectionRefusedError as exc:
            msg = f"the launcher of kernel {self.kernel_id} at {self.address} is gone"
            raise CommRefused(msg) from exc
        except (asyncio.TimeoutError, OSError, ValueError, asyncio.IncompleteReadError) as exc:
            msg = (
                f"the communication port of kernel {self.kernel_id} at {self.address} did not "
                f"answer {cmd!r} ({exc.__class__.__name__}); check that the host is up"
            )
            raise CommPortError(msg) from exc

    async def _send(
        self, cmd: str, signum: Optional[int], args: Optional[dict[str, Any]]
    ) -> dict[str, Any]:
        reader, writer = await asyncio.open_connection(
            self.host, self.port, limit=protocol.MAX_LINE
        )
        try:
            hello = json.loads(await reader.readuntil(b"\n"))
            challenge = str(hello.get("challenge", ""))
            if hello.get("protocol") != protocol.COMM_PROTOCOL or len(challenge) < 32:
                msg = f"{self.address} is not a jupyter_remote_kernels launcher"
                raise CommPortError(msg)
            request: dict[str, Any] = {"cmd": cmd, "signum": signum, "kernel_id": self.kernel_id}
            if args is not None:  # only then: launchers older than "args" check the MAC
                request["args"] = args
            writer.write(
                protocol.line(
                    dict(
                        request,
                        mac=protocol.mac(
                            self._auth_key, protocol.COMM_PROTOCOL, challenge, request
                        ),
                    )
                )
            )
            await writer.drain()
            reply = json.loads(await reader.readuntil(b"\n"))
            given = reply.pop("mac", None)
            expected = protocol.mac(self._auth_key, protocol.COMM_REPLY_LABEL, challenge, reply)
            if not protocol.mac_ok(expected, given):
                msg = (
                    f"the communication port of kernel {self.kernel_id} at {self.address} "
                    f"refused {cmd!r} or answered without authentication: {reply.get('error')}"
                )
                raise CommPortError(msg)
            return reply
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
