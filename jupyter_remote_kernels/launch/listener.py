"""The response listener: where launchers call back with their kernel's ports.

One listener serves every kernel of a server. It binds lazily, once per local address a
launcher must reach (loopback for local kernels, the address on the route to an SSH host),
and routes each authenticated callback to the launch waiting for it. Anything else (an
unknown kernel id, a wrong MAC, a replay, garbage, an oversized or slow message) is dropped
and logged, and the waiting launch keeps waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from traitlets import Bool, Float, Int
from traitlets.config import LoggingConfigurable

from ..errors import CallbackRejected, LaunchError
from . import protocol
from .legacy import LegacyKeyPair, decode_legacy_payload

__all__ = ["SERVICE", "PendingLaunch", "ResponseListener"]

#: The entry of the listener in the server's :class:`~jupyter_remote_kernels.services.Services`.
SERVICE = "response listener"


@dataclass
class PendingLaunch:
    """A launch waiting for its launcher's callback."""

    kernel_id: str
    auth_key: str
    future: asyncio.Future = field(repr=False)


class ResponseListener(LoggingConfigurable):
    """Accepts launcher callbacks on the server's response address(es).

    Created by :class:`~jupyter_remote_kernels.manager.RemoteMappingKernelManager` (one per
    server) and used by the provisioners: :meth:`expect` before a launch, :meth:`address_for`
    to fill ``{response_address}``, :meth:`forget` when the launch ends either way.
    """

    response_port = Int(
        0,
        config=True,
        help="TCP port of the response address; 0 picks a free port per bound address. "
        "Set it when a firewall between the server and the kernel hosts must allow it.",
    )
    read_timeout = Float(
        10.0,
        config=True,
        help="Seconds a caller may take to send its callback before the connection is dropped.",
    )
    max_connections = Int(
        64,
        config=True,
        help="Connections served at once; further ones are closed at once.",
    )
    allow_legacy_launchers = Bool(
        False,
        config=True,
        help="Accept Enterprise Gateway's own launcher, whose callback and communication "
        "port are not authenticated (anyone who can reach them can forge or command a "
        "kernel). Prefer migrating such kernelspecs: jupyter remote-kernels migrate.",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._servers: dict[str, asyncio.AbstractServer] = {}
        self._bind_lock = asyncio.Lock()
        self._pending: dict[str, PendingLaunch] = {}
        self._active = 0
        self._handlers: set[asyncio.Task] = set()
        self._legacy_keys: Optional[LegacyKeyPair] = None
        self.rejected = 0

    async def legacy_public_key(self) -> str:
        """The RSA public key for ``{public_key}`` (Enterprise Gateway launchers), made once."""
        if self._legacy_keys is None:
            self._legacy_keys = await asyncio.to_thread(LegacyKeyPair)
        return self._legacy_keys.public_key

    async def address_for(self, ip: str) -> str:
        """The ``ip:port`` a launcher calls back to, binding ``ip`` on first use."""
        async with self._bind_lock:
            server = self._servers.get(ip)
            if server is None:
                try:
                    server = await asyncio.start_server(
                        self._on_connection,
                        host=ip,
                        port=self.response_port,
                        limit=protocol.MAX_LINE,
                        reuse_address=True,
                    )
                except OSError as exc:
                    msg = (
                        f"Cannot open the response address on {ip}:{self.response_port} "
                        f"({exc.strerror or exc}). Choose another "
                        "ResponseListener.response_port or response IP."
                    )
                    raise LaunchError(msg) from exc
                self._servers[ip] = server
                port = server.sockets[0].getsockname()[1]
                self.log.info("Launcher response address listening on %s:%s", ip, port)
        port = server.sockets[0].getsockname()[1]
        host = f"[{ip}]" if ":" in ip else ip
        return f"{host}:{port}"

    def expect(self, kernel_id: str, auth_key: str) -> asyncio.Future:
        """Register a launch; the returned future resolves with the launcher's info."""
        old = self._pending.pop(kernel_id, None)
        if old is not None and not old.future.done():
            old.future.cancel()
        future = asyncio.get_running_loop().create_future()
        self._pending[kernel_id] = PendingLaunch(kernel_id, auth_key, future)
        return future

    def forget(self, kernel_id: str) -> None:
        """Stop waiting for this kernel's callback (launch done, failed or abandoned)."""
        pending = self._pending.pop(kernel_id, None)
        if pending is not None and not pending.future.done():
            pending.future.cancel()

    @property
    def addresses(self) -> list[str]:
        """Every ``ip:port`` the listener is bound on."""
        return [
            f"{ip}:{server.sockets[0].getsockname()[1]}" for ip, server in self._servers.items()
        ]

    async def close(self) -> None:
        """Close every bound address and drop pending launches; called at server stop."""
        for kernel_id in list(self._pending):
            self.forget(kernel_id)
        servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            server.close()
        for task in list(self._handlers):
            task.cancel()
        for server in servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        peer = writer.get_extra_info("peername")
        self._active += 1
        try:
            if self._active > self.max_connections:
                msg = "too many connections at once"
                raise CallbackRejected(msg)
            await self._serve(reader, writer)
        except CallbackRejected as exc:
            self.rejected += 1
            self.log.warning("Rejected a launcher callback from %s: %s", peer, exc)
            with contextlib.suppress(Exception):
                writer.write(protocol.line({"status": "rejected"}))
                await asyncio.wait_for(writer.drain(), 1)
        except (OSError, asyncio.TimeoutError) as exc:
            self.rejected += 1
            self.log.warning("Dropped a launcher callback from %s: %r", peer, exc)
        finally:
            self._active -= 1
            writer.close()
            if task is not None:
                self._handlers.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Our launchers speak first with a hello line; Enterprise Gateway's send their
        # payload at once and close, so nothing is written to them before they finish.
        first = await self._read_line(reader)
        try:
            hello = json.loads(first)
        except ValueError:
            hello = None
        if not isinstance(hello, dict) or hello.get("protocol") != protocol.CALLBACK_PROTOCOL:
            legacy = decode_legacy_payload(first, self._legacy_keys)
            if legacy is not None:
                self._legacy_callback(legacy, writer)
                return
            msg = "not a jupyter_remote_kernels callback"
            raise CallbackRejected(msg)
        challenge = protocol.new_challenge()
        hello = {"protocol": protocol.CALLBACK_PROTOCOL, "challenge": challenge}
        writer.write(protocol.line(hello))
        await asyncio.wait_for(writer.drain(), self.read_timeout)
        raw = await self._read_line(reader)
        try:
            message = json.loads(raw)
            kernel_id = message["kernel_id"]
            info = message["info"]
            given_mac = message["mac"]
        except (ValueError, TypeError, KeyError) as exc:
            msg = "not a jupyter_remote_kernels callback"
            raise CallbackRejected(msg) from exc
        pending = self._pending.get(kernel_id) if isinstance(kernel_id, str) else None
        if pending is None:
            msg = f"no launch is waiting for kernel {kernel_id!r}"
            raise CallbackRejected(msg)
        expected = protocol.mac(pending.auth_key, protocol.CALLBACK_PROTOCOL, challenge, info)
        if not protocol.mac_ok(expected, given_mac):
            msg = f"wrong MAC for kernel {kernel_id}"
            raise CallbackRejected(msg)
        if pending.future.done():
            msg = f"kernel {kernel_id} has already called back"
            raise CallbackRejected(msg)
        if not isinstance(info, dict) or info.get("kernel_id") != kernel_id:
            msg = f"malformed callback info for kernel {kernel_id}"
            raise CallbackRejected(msg)
        if "error" in info:
            pending.future.set_exception(LaunchError(str(info["error"])))
        else:
            pending.future.set_result(_validated(kernel_id, info))
        reply = {
            "status": "accepted",
            "mac": protocol.mac(pending.auth_key, protocol.ACCEPTED_LABEL, challenge),
        }
        writer.write(protocol.line(reply))
        await asyncio.wait_for(writer.drain(), self.read_timeout)

    def _legacy_callback(self, info: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        """An Enterprise Gateway launcher's payload: route it if allowed, else fail clearly."""
        kernel_id = info.get("kernel_id")
        pending = self._pending.get(kernel_id) if isinstance(kernel_id, str) else None
        if pending is None or pending.future.done():
            msg = (
                "an Enterprise Gateway launcher payload for no waiting launch (it carries no "
                "authentication, so it may be forged)"
            )
            raise CallbackRejected(msg)
        if not self.allow_legacy_launchers:
            self.rejected += 1
            msg = (
                f"Kernel {kernel_id} was started with Enterprise Gateway's launcher, whose "
                "callback is not authenticated. Switch the kernelspec to this package's "
                "launcher (jupyter remote-kernels migrate), or accept the risk with "
                "ResponseListener.allow_legacy_launchers = True."
            )
            pending.future.set_exception(LaunchError(msg))
            return
        result = _validated(kernel_id, info)
        if result["ip"] in ("0.0.0.0", "::", ""):  # noqa: S104 - EG reports the wildcard
            result["ip"] = str(writer.get_extra_info("peername")[0])
        result.update(
            legacy=True,
            key=str(info.get("key", "")),
            signature_scheme=str(info.get("signature_scheme", "hmac-sha256")),
        )
        for name in ("curve_publickey", "curve_secretkey"):
            if isinstance(info.get(name), str):
                result[name] = info[name]
        self.log.warning("Accepted an unauthenticated EG launcher callback for %s", kernel_id)
        pending.future.set_result(result)

    async def _read_line(self, reader: asyncio.StreamReader) -> bytes:
        try:
            return await asyncio.wait_for(reader.readuntil(b"\n"), self.read_timeout)
        except asyncio.LimitOverrunError as exc:
            msg = f"message longer than {protocol.MAX_LINE} bytes"
            raise CallbackRejected(msg) from exc
        except asyncio.IncompleteReadError as exc:
            if decode_legacy_payload(exc.partial, None) is not None:
                return exc.partial  # EG launchers send one unterminated payload, then close
            msg = "connection closed before a complete message"
            raise CallbackRejected(msg) from exc
        except asyncio.TimeoutError as exc:
            msg = f"no complete message within {self.read_timeout:.0f} s"
            raise CallbackRejected(msg) from exc


def _validated(kernel_id: str, info: dict) -> dict:
    """The callback info with its types checked; CallbackRejected if anything is off."""
    try:
        result = {name: int(info[name]) for name in (*protocol.PORT_NAMES, "comm_port", "pid")}
        result["pgid"] = int(info.get("pgid", result["pid"]))
        result["ip"] = str(info["ip"])
        result["host"] = str(info.get("host", ""))
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"callback for kernel {kernel_id} lacks a field or has a bad value: {exc}"
        raise CallbackRejected(msg) from exc
    for name in (*protocol.PORT_NAMES, "comm_port"):
        if not 0 < result[name] < 65536:
            msg = f"callback for kernel {kernel_id} has an invalid {name}"
            raise CallbackRejected(msg)
    return result
