"""A real `jupyter server` process for tests that stop or kill the server itself."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`python -m jupyter_server` with the extension, its own Jupyter dirs under ``base``.

    ``extension`` False: a plain Jupyter Server, the extension disabled."""

    extension = True

    def __init__(self, base: Path, token: str = "test-token", extra_args=(), env=None) -> None:
        self.base = base
        self.token = token
        self.extra_args = list(extra_args)
        self.extra_env = dict(env or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def env(self) -> dict[str, str]:
        return dict(
            os.environ,
            JUPYTER_PATH=str(self.base / "data"),
            JUPYTER_RUNTIME_DIR=str(self.base / "runtime"),
            JUPYTER_CONFIG_DIR=str(self.base / "config"),
            **self.extra_env,
        )

    def _log(self):
        self.log_path = self.base / f"server-{self.port}.log"
        return self.log_path.open("ab")

    def start(self, timeout: float = 60) -> ServerProcess:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                "--allow-root",
                "--no-browser",
                f"--port={self.port}",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.base}",
                f"--ServerApp.jpserver_extensions={{'jupyter_remote_kernels': {self.extension}}}",
                *self.extra_args,
            ],
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=self._log(),
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                requests.get(f"{self.url}/api/status", headers=self.headers, timeout=2)
                return self
            except requests.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()  # one that is merely slow must not outlive the test
                    msg = f"the Jupyter server did not start within {timeout:g} s"
                    raise RuntimeError(msg) from None
                time.sleep(0.2)

    def request(self, method: str, path: str, body=None, timeout: float = 60):
        data = json.dumps(body) if body is not None else None
        return requests.request(
            method, f"{self.url}{path}", headers=self.headers, data=data, timeout=timeout
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
