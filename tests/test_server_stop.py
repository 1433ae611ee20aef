"""Stopping a real `jupyter server` process leaves no launcher or kernel behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import requests

from .kernels import pids_mentioning, shipped_local_spec, write_kernelspec


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_server_stop_shuts_every_kernel_down(tmp_path):
    data = tmp_path / "data"
    write_kernelspec(data / "kernels", "remote-python", shipped_local_spec())
    port, token = free_port(), "stop-test-token"
    env = dict(
        os.environ,
        JUPYTER_PATH=str(data),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--allow-root",
            "--no-browser",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={tmp_path}",
            "--ServerApp.jpserver_extensions={'jupyter_remote_kernels': True}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"token {token}"}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/api/status", headers=headers, timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        ids = []
        for _ in range(3):
            r = requests.post(
                f"{url}/api/kernels",
                headers=headers,
                timeout=60,
                data=json.dumps({"name": "remote-python"}),
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        assert all(len(pids_mentioning(k)) == 2 for k in ids)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        deadline = time.monotonic() + 5
        while any(pids_mentioning(k) for k in ids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pids_mentioning(k) for k in ids if pids_mentioning(k)]
        assert list((tmp_path / "rt").glob("kernel-*.json")) == []
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
