"""Wire format shared with the launchers (``launchers/python/launch_ipykernel.py``).

Every exchange is newline-terminated JSON lines of at most :data:`MAX_LINE` bytes.

Callback, launcher -> the server's response address::

    launcher: {"protocol": "jrk-callback/1"}
    server:   {"protocol": "jrk-callback/1", "challenge": <32 hex>}
    launcher: {"kernel_id": ..., "info": {...},
               "mac": HMAC(auth_key, "jrk-callback/1", challenge, info)}
    server:   {"status": "accepted", "mac": HMAC(auth_key, "jrk-accepted/1", challenge)}
              or {"status": "rejected"}

Communication port, server -> launcher::

    launcher: {"protocol": "jrk-comm/1", "challenge": <32 hex>}
    server:   {"cmd": ..., "signum": ..., "kernel_id": ..., ["args": {...},]
               "mac": HMAC(auth_key, "jrk-comm/1", challenge, request)}
    launcher: {"ok": ..., "alive": ..., "exit_code": ..., ["error": ...,]
               "mac": HMAC(auth_key, "jrk-comm-reply/1", challenge, reply)}

``request`` is ``{"cmd", "signum", "kernel_id"}``, plus ``"args"`` only when the command has
them. Commands (:data:`COMM_COMMANDS`): ``ping``, ``interrupt``, ``signal`` (``signum``),
``terminate``, ``kill``, ``shutdown`` and ``prepare``, whose ``args`` are ``{"cwd": folder or
null, "env": {name: value}}``: a warm pool's kernel (bundle ``"pool": true``) changes to
``cwd`` and adds ``env`` to its ``os.environ``, in the kernel process itself. The launcher
answers ``ok`` only once the kernel confirmed, else ``{"ok": false, "error": ...}`` (a folder
the kernel cannot enter, no confirmation within a few seconds, malformed args, a second
``prepare``, or a launch that was not a pool launch).

Launch bundle, server -> launcher (stdin, or one environment variable of a YARN container)::

    base64url(canonical JSON {"protocol": "jrk-launch/1", "auth_key", "key", ...}) + "\n"

(``"pool": true`` in it marks a warm pool's launch, the only kind that takes ``prepare``.)

The bundle is base64url encoded (letters, digits, ``-``, ``_``, ``=``) so that it survives
every channel unchanged, including a YARN NodeManager's ``launch_container.sh``, which
writes each container variable as ``export NAME="VALUE"`` without escaping.

The challenge makes every MAC single-use, so a recorded message cannot be replayed, and no
clocks need to agree. ``auth_key`` is a per-kernel secret that reaches the launcher through
the launch channel (stdin or the container environment), never through argv.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any

CALLBACK_PROTOCOL = "jrk-callback/1"
ACCEPTED_LABEL = "jrk-accepted/1"
COMM_PROTOCOL = "jrk-comm/1"
COMM_REPLY_LABEL = "jrk-comm-reply/1"
MAX_LINE = 65536
PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
COMM_COMMANDS = ("ping", "interrupt", "signal", "terminate", "kill", "shutdown", "prepare")


def canonical(obj: Any) -> bytes:
    """The bytes a MAC is computed over: JSON with sorted keys and no spaces."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def line(obj: Any) -> bytes:
    """One protocol line."""
    return canonical(obj) + b"\n"


def encode_bundle(fields: dict[str, Any]) -> bytes:
    """The launch bundle as one shell-safe line (base64url of its canonical JSON)."""
    return base64.urlsafe_b64encode(canonical(fields)) + b"\n"


def decode_bundle(data: bytes) -> dict[str, Any]:
    """The fields of a bundle made by :func:`encode_bundle`; ValueError if it is not one."""
    try:
        fields = json.loads(base64.urlsafe_b64decode(data.strip()))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = "not a launch bundle"
        raise ValueError(msg) from exc
    if isinstance(fields, dict):
        return fields
    msg = "not a launch bundle"
    raise ValueError(msg)


def new_auth_key() -> str:
    """A fresh per-kernel secret, hex encoded."""
    return secrets.token_hex(32)


def new_challenge() -> str:
    return secrets.token_hex(16)


def mac(auth_key: str, label: str, challenge: str, obj: Any = None) -> str:
    """HMAC-SHA256 over a label, the peer's challenge and an optional object."""
    data = label.encode() + b"\n" + challenge.encode()
    if obj is not None:
        data += b"\n" + canonical(obj)
    return hmac.new(bytes.fromhex(auth_key), data, hashlib.sha256).hexdigest()


def mac_ok(expected: str, given: Any) -> bool:
    return isinstance(given, str) and hmac.compare_digest(expected, given)
