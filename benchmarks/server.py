"""One benchmark ``jupyter server`` process (:class:`Server`) and the kernel messaging the
measurements use (execute requests over a kernel's websocket, every wait bounded)."""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import requests
import websocket

from testing.specs import write_kernelspec

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One `jupyter server` process with the given kernelspecs (and the lag probe);
    ``args``: more command-line options of the server (traits)."""

    def __init__(
        self,
        workdir: Path,
        python: str,
        specs: dict,
        extensions: dict,
        env: dict | None = None,
        data: Path | None = None,
        prefix: list[str] | None = None,
        args: list[str] | None = None,
    ) -> None:
        data = data or workdir / "data"
        for name, spec in specs.items():
            write_kernelspec(data / "kernels", name, spec)
        self.workdir = workdir
        self.port, self.token = free_port(), uuid.uuid4().hex
        env = dict(
            os.environ,
            **(env or {}),
            JUPYTER_PATH=str(data),
            JUPYTER_RUNTIME_DIR=str(workdir / "rt"),
            JUPYTER_CONFIG_DIR=str(workdir / "cfg"),
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        )
        extensions = {"benchmarks.lagprobe": True, **extensions}
        self.log_path = workdir / "server.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [
                    *(prefix or []),
                    python,
                    "-m",
                    "jupyter_server",
                    "--allow-root",
                    "--no-browser",
                    f"--port={self.port}",
                    f"--IdentityProvider.token={self.token}",
                    f"--ServerApp.root_dir={workdir}",
                    f"--ServerApp.jpserver_extensions={extensions!r}",
                    *(args or []),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
                cwd=workdir,
            )
        self.url = f"http://127.0.0.1:{self.port}"
        self.headers = {"Authorization": f"token {self.token}"}
        self.session = requests.Session()
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{self.url}/api/status", headers=self.headers, timeout=2)
                return
            except requests.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    msg = f"server did not start; see {self.log_path}"
                    raise RuntimeError(msg) from None
                time.sleep(0.2)

    def start(self, name: str, timeout: float = 120) -> tuple[str, float]:
        """Start a kernel; the time runs until it answers an execute request."""
        t = time.monotonic()
        r = requests.post(
            f"{self.url}/api/kernels",
            headers=self.headers,
            timeout=timeout,
            data=json.dumps({"name": name}),
        )
        if r.status_code != 201:
            msg = f"POST /api/kernels: {r.status_code} {r.text[:300]}"
            raise RuntimeError(msg)
        kernel_id = r.json()["id"]
        ws = self.channel(kernel_id)
        try:
            execute(ws, "1", timeout=timeout)
        finally:
            ws.close()
        return kernel_id, time.monotonic() - t

    def channel(self, kernel_id: str):
        url = self.url.replace("http", "ws") + f"/api/kernels/{kernel_id}/channels"
        return websocket.create_connection(
            url, header=[f"Authorization: token {self.token}"], timeout=60
        )

    def delete(self, kernel_id: str) -> float:
        t = time.monotonic()
        requests.delete(f"{self.url}/api/kernels/{kernel_id}", headers=self.headers, timeout=60)
        return time.monotonic() - t

    def delete_all(self, kernel_ids: list[str]) -> None:
        with cf.ThreadPoolExecutor(max(1, len(kernel_ids))) as pool:
            list(pool.map(self.delete, kernel_ids))

    def lag(self, reset: bool = False) -> float:
        """The lag probe's largest event-loop lateness (ms) since the last reset."""
        method = requests.post if reset else requests.get
        r = method(f"{self.url}/api/bench/lag", headers=self.headers, timeout=30)
        r.raise_for_status()
        return float(r.json()["max_late_ms"])

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def recv(ws, deadline: float) -> dict:
    """The next message, or TimeoutError at ``deadline`` (websocket pings keep a plain
    recv() with a timeout waiting forever)."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no message from the kernel in time")
        ws.settimeout(min(2.0, remaining))
        try:
            return json.loads(ws.recv())
        except websocket.WebSocketTimeoutException:
            continue


def wait_for_message(ws, msg_id: str, msg_type: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        m = recv(ws, deadline)
        if m.get("parent_header", {}).get("msg_id") == msg_id and m["msg_type"] == msg_type:
            return m


def reply_and_idle(ws, msg_id: str, timeout: float, started: float = 0.0) -> tuple[dict, float]:
    """The execute_reply (and when it came) once the kernel is idle again after it."""
    deadline = time.monotonic() + timeout
    reply, at, idle = None, 0.0, False
    while reply is None or not idle:
        m = recv(ws, deadline)
        if m.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "execute_reply":
            reply, at = m["content"], time.monotonic()
        elif m["msg_type"] == "status" and m["content"].get("execution_state") == "idle":
            idle = True
    return reply, at - started


def send_execute(ws, code: str) -> str:
    """Send an execute_request over a kernel websocket; returns its msg_id."""
    msg_id = uuid.uuid4().hex
    header = {
        "msg_id": msg_id,
        "msg_type": "execute_request",
        "username": "b",
        "session": uuid.uuid4().hex,
        "date": "",
        "version": "5.3",
    }
    content = {
        "code": code,
        "silent": False,
        "store_history": False,
        "user_expressions": {},
        "allow_stdin": False,
    }
    ws.send(
        json.dumps(
            {
                "header": header,
                "parent_header": {},
                "metadata": {},
                "buffers": [],
                "channel": "shell",
                "content": content,
            }
        )
    )
    return msg_id


def execute(ws, code: str, timeout: float = 60) -> dict:
    return reply_and_idle(ws, send_execute(ws, code), timeout)[0]
