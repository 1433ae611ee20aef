"""Enterprise Gateway's own launcher protocol, for kernelspecs that still use EG's launcher.

EG's ``launch_ipykernel.py`` reports its ports in a payload encrypted to the server's RSA
public key (``{public_key}`` in argv) but not authenticated: anyone who can reach the
response address and read that public key can forge one. Its communication port takes
unauthenticated JSON (``{"signum": N}``, ``{"shutdown": 1}``). So this is accepted only when
``ResponseListener.allow_legacy_launchers`` is True; otherwise the launch fails at once
with an error that says how to switch (``jupyter remote-kernels migrate``).

Payload (version 1): ``base64(json({"version": 1, "key": b64(RSA-PKCS1v15(aes_key)),
"conn_info": b64(AES-128-ECB(json, PKCS#7))}))``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
from typing import Any, Optional

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..errors import CommPortError

__all__ = ["LegacyCommClient", "LegacyKeyPair", "decode_legacy_payload"]


class LegacyKeyPair:
    """The server's RSA key pair for EG launchers; one per response listener."""

    def __init__(self) -> None:
        self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = self._private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        #: What ``{public_key}`` becomes: PEM without its header lines and newlines.
        self.public_key = base64.b64encode(der).decode()

    def decrypt_key(self, data: bytes) -> bytes:
        return self._private.decrypt(data, padding.PKCS1v15())


def decode_legacy_payload(raw: bytes, keys: Optional[LegacyKeyPair]) -> Optional[dict[str, Any]]:
    """The connection info inside an EG payload, or None if ``raw`` is not one."""
    try:
        payload = json.loads(base64.b64decode(raw.strip(), validate=True))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(payload, dict) or not {"key", "conn_info"} <= payload.keys():
        return None
    if keys is None or payload.get("version") != 1:
        return {}
    try:
        aes_key = keys.decrypt_key(base64.b64decode(payload["key"]))
        if len(aes_key) != 16:  # some EG versions encrypt the base64 form of the key
            aes_key = base64.b64decode(aes_key)
        decryptor = Cipher(algorithms.AES(aes_key), modes.ECB()).decryptor()  # noqa: S305
        padded = decryptor.update(base64.b64decode(payload["conn_info"])) + decryptor.finalize()
        info = json.loads(padded[: -padded[-1]].decode())
    except (ValueError, binascii.Error, IndexError, UnicodeDecodeError):
        return {}
    return info if isinstance(info, dict) else {}


class LegacyCommClient:
    """EG's / GP's communication port: unauthenticated JSON, one message per connection.

    It has :class:`~jupyter_remote_kernels.launch.comm.CommClient`'s interface. What the
    launcher (EG 3.3, gateway_provisioners 0.5) does with each message, read from its source
    and seen in the tests:

    * ``{"signum": N}``: ``os.kill(kernel_pid, N)``; the launcher process *is* the kernel
      (ipykernel runs in it), and the listener is a forked child of it.
    * ``{"shutdown": 1}``: the listener leaves its loop and exits; the kernel runs on.
    * The listener also leaves its loop on SIGTERM, which ipykernel sends its children when
      it gets a shutdown request. Nobody reaps it, and ipykernel then waits for that child
      for ~29 s before it exits. So such a kernel is stopped with SIGTERM (ipykernel has no
      handler for it: it dies at once), as EG does, and the listener told to stop as well.

    Liveness is the kernel's own heartbeat port (a refused connection: the kernel process
    is gone), not the listener, which may have exited before the kernel or outlive it. The
    launcher reports its ports before ipykernel has bound them (seconds later on a busy
    host): until the heartbeat port has accepted once, refused means "not bound yet".
    """

    _SIGNALS = {"interrupt": 2, "terminate": 15, "kill": 9}

    def __init__(self, host: str, port: int, kernel_id: str, hb_port: int, timeout: float):
        self.host = host
        self.port = port
        self.kernel_id = kernel_id
        self.hb_port = hb_port
        self.timeout = timeout
        self.hb_seen = False  # the heartbeat port has accepted a connection

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def send(self, cmd: str, signum: Optional[int] = None) -> dict[str, Any]:
        """Deliver ``cmd``; raises CommPortError when it cannot and the kernel still runs."""
        if cmd == "ping":
            return {"ok": True, "alive": await self.kernel_alive()}
        if cmd == "shutdown":
            message: dict[str, int] = {"shutdown": 1}
        else:
            message = {"signum": signum if cmd == "signal" else self._SIGNALS[cmd]}
        try:
            await self._deliver(message)
            if cmd in ("terminate", "kill"):
                # The kernel is ending: end its listener too, or it would outlive it.
                await self._deliver({"shutdown": 1})
        except (OSError, asyncio.TimeoutError) as exc:
            if cmd in ("terminate", "kill", "shutdown") and not await self.kernel_alive(False):
                return {"ok": True, "alive": False}
            msg = (
                f"the launcher of kernel {self.kernel_id} at {self.address} did not take "
                f"{cmd!r} ({exc.__class__.__name__})"
            )
            raise CommPortError(msg) from exc
        return {"ok": True, "alive": True}

    async def _deliver(self, message: dict[str, int]) -> None:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.timeout
        )
        try:
            writer.write(json.dumps(message).encode())
            writer.write_eof()
            await asyncio.wait_for(writer.drain(), self.timeout)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), self.timeout)

    async def kernel_alive(self, starting: bool = True) -> bool:
        """True while the kernel's heartbeat port takes connections.

        Refused means the kernel process is gone, once the port has accepted before (the
        launcher's own exit, a YARN application's end, catch a kernel that never bound it;
        with ``starting`` False, as when its listener is gone too, refused is gone at once);
        no answer at all within the timeout (the host unreachable) raises CommPortError,
        like an unanswered ping.
        """
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.hb_port), self.timeout
            )
        except ConnectionRefusedError:
            return starting and not self.hb_seen
        except (OSError, asyncio.TimeoutError) as exc:
            msg = (
                f"the heartbeat port of kernel {self.kernel_id} at {self.host}:{self.hb_port} "
                f"did not answer ({exc.__class__.__name__}); check that the host is up"
            )
            raise CommPortError(msg) from exc
        self.hb_seen = True
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), self.timeout)
        return True
