"""Test helpers: kernelspecs, a websocket kernel client, and looking at real processes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import websocket

from jupyter_remote_kernels.launch.protocol import encode_bundle
from jupyter_remote_kernels.paths import launcher_path
from testing.specs import pids_mentioning, shipped_local_spec, write_kernelspec

from .server_process import ServerProcess

# Also the helpers of this module for the tests (the benchmarks use testing.specs).
__all__ = ["pids_mentioning", "shipped_local_spec", "write_kernelspec"]

LAUNCHER = str(launcher_path("python"))


def launcher_argv(*extra: str) -> list[str]:
    """Our launcher with its own option spellings; ``extra`` options are appended."""
    return [
        "python",
        "{launcher}",
        "--kernel-id",
        "{kernel_id}",
        "--response-address",
        "{response_address}",
        *extra,
    ]


def eg_argv(launcher: str, python: str = "python") -> list[str]:
    """A launcher with Enterprise Gateway's option spellings and placeholders."""
    return [
        python,
        launcher,
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


#: Our launcher with Enterprise Gateway's option spellings and placeholders.
EG_LAUNCHER_ARGV = eg_argv(LAUNCHER)


def local_spec(argv: list[str], **config: Any) -> dict[str, Any]:
    """A kernelspec placed by the local launcher provisioner, with ``config``."""
    return {"argv": argv, "metadata": {"process_proxy": {"class_name": "local", "config": config}}}




def slow_start_spec(delay: float, marker: str = "slow-start") -> dict[str, Any]:
    """A local kernelspec whose launcher starts ``delay`` seconds late (``marker`` in argv)."""
    return {
        "argv": [
            "python",
            "-c",
            f"import os, sys, time; time.sleep({delay}); "
            "os.execv(sys.executable, [sys.executable] + sys.argv[2:])",
            marker,
            "{launcher}",
            "--kernel-id",
            "{kernel_id}",
            "--response-address",
            "{response_address}",
        ],
        "metadata": {"process_proxy": {"class_name": "local"}},
    }






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


def wait_for(predicate, timeout: float, interval: float = 0.25):
    """The predicate's first true value within ``timeout`` seconds, else its last value
    (the blocking twin of :func:`wait_until`, for tests that drive a server process)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


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

    async def send_execute(self, code: str) -> str:
        """Start ``code`` without waiting; returns the request's msg_id."""
        msg_id = uuid.uuid4().hex
        message = {
            "header": {
                "msg_id": msg_id,
                "msg_type": "execute_request",
                "username": "test",
                "session": self.session,
                "date": "",
                "version": "5.3",
            },
            "parent_header": {},
            "metadata": {},
            # stop_on_error False: an interrupted cell must not abort the requests queued
            # right behind it (ipykernel answers those "aborted" for a moment).
            "content": {
                "code": code,
                "silent": False,
                "store_history": False,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": False,
            },
            "buffers": [],
            "channel": "shell",
        }
        await self.ws.write_message(json.dumps(message))
        return msg_id

    async def messages(self, timeout: float, what: str = "a message"):
        """Every message the websocket carries, until ``timeout`` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {what} within {timeout} s")
            raw = await asyncio.wait_for(self.ws.read_message(), remaining)
            if raw is None:
                raise ConnectionError("websocket closed")
            if isinstance(raw, str):
                yield json.loads(raw)

    async def _replies_to(self, msg_id: str, timeout: float):
        """Messages answering ``msg_id``, until ``timeout`` seconds have passed."""
        async for message in self.messages(timeout, f"complete answer to {msg_id}"):
            if message.get("parent_header", {}).get("msg_id") == msg_id:
                yield message

    async def execute(self, code: str, timeout: float = 60.0) -> dict:
        """Run ``code``; returns the execute_reply content plus collected ``stdout``."""
        msg_id = await self.send_execute(code)
        stdout, reply, idle = [], None, False
        async for m in self._replies_to(msg_id, timeout):
            if m["msg_type"] == "stream" and m["content"].get("name") == "stdout":
                stdout.append(m["content"]["text"])
            elif m["msg_type"] == "execute_reply":
                reply = m["content"]
            elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                idle = True
            if reply is not None and idle:
                return dict(reply, stdout="".join(stdout))
        raise AssertionError("unreachable")

    async def wait_reply(self, msg_id: str, timeout: float = 30.0) -> dict:
        async for m in self._replies_to(msg_id, timeout):
            if m["msg_type"] == "execute_reply":
                return m["content"]
        raise AssertionError("unreachable")

    async def wait_started(self, msg_id: str, timeout: float = 30.0) -> None:
        """Wait until the kernel has begun running ``msg_id`` (its execute_input)."""
        async for m in self._replies_to(msg_id, timeout):
            if m["msg_type"] == "execute_input":
                return


async def start_launcher(
    listener,
    kernel_id: str,
    auth_key: str,
    *options: str,
    bundle: dict[str, Any] | None = None,
    **kwargs,
):
    """Run the launcher against ``listener`` as a provisioner would; returns the process.

    ``options`` are more launcher options; ``bundle`` replaces the default launch bundle
    (e.g. one of :func:`~jupyter_remote_kernels.launch.bundle.make_bundle`).
    """
    address = await listener.address_for("127.0.0.1")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        LAUNCHER,
        "--kernel-id",
        kernel_id,
        "--response-address",
        address,
        *options,
        stdin=asyncio.subprocess.PIPE,
        start_new_session=True,
        **kwargs,
    )
    bundle = bundle or {
        "auth_key": auth_key,
        "key": uuid.uuid4().hex,
        "signature_scheme": "hmac-sha256",
        "ip": "127.0.0.1",
    }
    process.stdin.write(encode_bundle(bundle))
    await process.stdin.drain()
    process.stdin.close()
    return process


PYTHON = sys.executable


def ws_execute(server: ServerProcess, kernel_id: str, code: str, timeout: float = 30) -> str:
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels",
        header=[f"Authorization: token {server.token}"],
        timeout=timeout,
    )
    try:
        msg_id = f"exec-{time.monotonic_ns()}"
        ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": "t",
                        "session": "s",
                        "date": "",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "buffers": [],
                    "content": {"code": code, "silent": False},
                }
            )
        )
        out, deadline = [], time.monotonic() + timeout
        replied = idle = False
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            replied = replied or msg["msg_type"] == "execute_reply"
            idle = idle or (
                msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"
            )
            if replied and idle:
                return "".join(out)
        raise TimeoutError(code)
    finally:
        ws.close()


def cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "jupyter_remote_kernels.cli", *args],
        capture_output=True,
        check=False,
        text=True,
        env=env,
        timeout=60,
    )


def fake_pyspark(base: Path) -> Path:
    """A folder holding a stand-in ``pyspark`` (put it on PYTHONPATH): what the launcher's
    Spark lines need of it is that ``SparkSession.builder.getOrCreate()`` answers. It takes
    ``FAKE_SPARK_DELAY`` seconds to, or fails with ``FAKE_SPARK_ERROR``'s message."""
    fake = base / "fake-pyspark"
    (fake / "pyspark").mkdir(parents=True)
    (fake / "pyspark" / "__init__.py").write_text("")
    (fake / "pyspark" / "sql.py").write_text(
        "import os, time\n"
        "class _Context:\n"
        "    version = 'fake-4.0'\n"
        "    def __repr__(self):\n"
        "        return 'fake-context'\n"
        "class _Frame:\n"
        "    def __init__(self, n):\n"
        "        self.n = n\n"
        "    def count(self):\n"
        "        return self.n\n"
        "class _Session:\n"
        "    sparkContext = _Context()\n"
        "    def range(self, n):\n"
        "        return _Frame(n)\n"
        "class _Builder:\n"
        "    def getOrCreate(self):\n"
        "        time.sleep(float(os.environ.get('FAKE_SPARK_DELAY', '0')))\n"
        "        if os.environ.get('FAKE_SPARK_ERROR'):\n"
        "            raise RuntimeError(os.environ['FAKE_SPARK_ERROR'])\n"
        "        return _Session()\n"
        "class SparkSession:\n"
        "    builder = _Builder()\n"
    )
    return fake
