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

from ..errors import CommPortError

__all__ = ["LegacyCommClient", "LegacyKeyPair", "decode_legacy_payload"]


class LegacyKeyPair:
    """The server's RSA key pair for EG launchers; one per response listener."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = self._private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        #: What ``{public_key}`` becomes: PEM without its header lines and newlines.
        self.public_key = base64.b64encode(der).decode()

    def decrypt_key(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives.asymmetric import padding

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
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

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
    """EG's communication port: unauthenticated JSON, one message per connection.

    It has :class:`~jupyter_remote_kernels.launch.comm.CommClient`'s interface. EG's
    listener is a child of the kernel and may outlive it, so liveness is the kernel's own
    ZMQ heartbeat, not the listener.
    """

    _SIGNALS = {"interrupt": 2, "terminate": 15, "kill": 9}

    def __init__(self, host: str, port: int, kernel_id: str, hb_port: int, timeout: float):
        self.host = host
        self.port = port
        self.kernel_id = kernel_id
        self.hb_port = hb_port
        self.timeout = timeout

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def send(self, cmd: str, signum: Optional[int] = None) -> dict[str, Any]:
        if cmd == "ping":
            return {"ok": True, "alive": await self._heartbeat()}
        if cmd == "shutdown":
            message: dict[str, int] = {"shutdown": 1}
        else:
            message = {"signum": signum if cmd == "signal" else self._SIGNALS[cmd]}
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout
            )
            writer.write(json.dumps(message).encode())
            writer.write_eof()
            await writer.drain()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        except (OSError, asyncio.TimeoutError) as exc:
            if cmd in ("terminate", "kill", "shutdown") and not await self._heartbeat():
                return {"ok": True, "alive": False}
            msg = f"EG launcher of kernel {self.kernel_id} at {self.address} did not take {cmd!r}"
            raise CommPortError(msg) from exc
        return {"ok": True, "alive": True}

    async def _heartbeat(self) -> bool:
        """True when the kernel echoes a heartbeat within the timeout."""
        import zmq
        import zmq.asyncio

        context = zmq.asyncio.Context.instance()
        sock = context.socket(zmq.REQ)
        sock.linger = 0
        try:
            sock.connect(f"tcp://{self.host}:{self.hb_port}")
            await sock.send(b"ping")
            return bool(await sock.poll(int(self.timeout * 1000)))
        finally:
            sock.close()
