"""Test helpers: kernelspecs, a websocket kernel client, and looking at real processes."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from jupyter_remote_kernels._paths import KERNELSPECS_DIR, launcher_path

LAUNCHER = str(launcher_path("python"))

#: Our launcher with Enterprise Gateway's option spellings and placeholders.
EG_LAUNCHER_ARGV = [
    "python",
    LAUNCHER,
    "--RemoteProcessProxy.kernel-id",
    "{kernel_id}",
    "--RemoteProcessProxy.response-address",
    "{response_address}",
    "--RemoteProcessProxy.public-key",
    "{public_key}",
    "--RemoteProcessProxy.port-range",
    "{port_range}",
    "--RemoteProcessProxy.spark-context-initialization-mode",
    "none",
]


def write_kernelspec(kernels_dir: Path, name: str, spec: dict[str, Any]) -> Path:
    folder = kernels_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"display_name": name, "language": "python", **spec}
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return folder


def shipped_local_spec() -> dict[str, Any]:
    """The kernelspec the wheel installs as ``remote-python``."""
    return json.loads((KERNELSPECS_DIR / "local" / "kernel.json").read_text())


def pids_mentioning(text: str) -> list[int]:
    """PIDs of live processes whose command line contains ``text`` (zombies excluded)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and text.encode() in cmdline:
            found.append(int(entry))
    return found


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def wait_until(predicate, timeout: float = 10.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return predicate()


def argv_with(text: str) -> list[int]:
    """Every live process whose argv holds ``text``; used to look for leaked secrets."""
    return pids_mentioning(text)


class KernelSession:
    """Talks to a kernel through the server's websocket, as JupyterLab does."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.session = uuid.uuid4().hex

    @classmethod
    async def open(cls, jp_ws_fetch, kernel_id: str) -> KernelSession:
        ws = await jp_ws_fetch("api", "kernels", kernel_id, "channels")
        return cls(ws)

    def close(self) -> None:
        self.ws.close()

    def _message(self, msg_type: str, content: dict, channel: str = "shell") -> dict:
        return {
            "header": {
                "msg_id": uuid.uuid4().hex,
                "msg_type": msg_type,
                "username": "test",
                "session": self.session,
                "date": "",
                "version": "5.3",
            },
            "parent_header": {},
            "metadata": {},
            "content": content,
            "buffers": [],
            "channel": channel,
        }

    async def request(self, msg_type: str, content: dict, timeout: float = 60.0) -> dict:
        msg = self._message(msg_type, content)
        await self.ws.write_message(json.dumps(msg))
        reply_type = msg_type.replace("_request", "_reply")
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {reply_type} within {timeout} s")
            raw = await asyncio.wait_for(self.ws.read_message(), remaining)
            if raw is None:
                raise ConnectionError("websocket closed")
            if not isinstance(raw, str):
                continue
            reply = json.loads(raw)
            if (
                reply.get("parent_header", {}).get("msg_id") == msg["header"]["msg_id"]
                and reply["msg_type"] == reply_type
            ):
                return reply

    async def execute(self, code: str, timeout: float = 60.0) -> dict:
        """Run ``code``; returns the execute_reply content plus collected ``stdout``."""
        msg = self._message(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": False,
                "user_expressions": {},
                "allow_stdin": False,
            },
        )
        await self.ws.write_message(json.dumps(msg))
        stdout, reply = [], None
        idle = False
        deadline = time.monotonic() + timeout
        while reply is None or not idle:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"execution of {code!r} did not finish within {timeout} s")
            raw = await asyncio.wait_for(self.ws.read_message(), remaining)
            if raw is None:
                raise ConnectionError("websocket closed")
            if not isinstance(raw, str):
                continue
            m = json.loads(raw)
            if m.get("parent_header", {}).get("msg_id") != msg["header"]["msg_id"]:
                continue
            if m["msg_type"] == "stream" and m["content"].get("name") == "stdout":
                stdout.append(m["content"]["text"])
            elif m["msg_type"] == "execute_reply":
                reply = m["content"]
            elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                idle = True
        return dict(reply, stdout="".join(stdout))

    async def send_execute(self, code: str) -> str:
        """Start ``code`` without waiting; returns the request's msg_id."""
        msg = self._message("execute_request", {"code": code, "silent": False})
        await self.ws.write_message(json.dumps(msg))
        return msg["header"]["msg_id"]

    async def wait_reply(self, msg_id: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no reply")
            raw = await asyncio.wait_for(self.ws.read_message(), remaining)
            if raw is None:
                raise ConnectionError("websocket closed")
            if not isinstance(raw, str):
                continue
            m = json.loads(raw)
            if (
                m.get("parent_header", {}).get("msg_id") == msg_id
                and m["msg_type"] == "execute_reply"
            ):
                return m["content"]

    async def wait_started(self, msg_id: str, timeout: float = 30.0) -> None:
        """Wait for the kernel's ``busy`` status of ``msg_id`` (the code is running)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the code did not start")
            raw = await asyncio.wait_for(self.ws.read_message(), remaining)
            if not isinstance(raw, str):
                continue
            m = json.loads(raw)
            if (
                m.get("parent_header", {}).get("msg_id") == msg_id
                and m["msg_type"] == "execute_input"
            ):
                return


PYTHON = sys.executable
