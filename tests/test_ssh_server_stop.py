"""Stopping a real `jupyter server` process leaves no launcher or kernel on any SSH host."""

from __future__ import annotations

import json
import signal

import requests

from .kernels import write_kernelspec
from .server_process import free_port
from .ssh_helpers import kernel_pids, ssh_spec


def test_server_stop_leaves_nothing_on_the_hosts(tmp_path, ssh_bed):
    import os
    import subprocess
    import sys
    import time

    data = tmp_path / "data"
    write_kernelspec(data / "kernels", "ssh2", ssh_spec(ssh_bed))
    port, token = free_port(), "ssh-stop-token"
    env = dict(
        os.environ,
        JUPYTER_PATH=str(data),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--allow-root", "--no-browser",
         f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={tmp_path}",
         "--ServerApp.jpserver_extensions={'jupyter_remote_kernels': True}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url, headers = f"http://127.0.0.1:{port}", {"Authorization": f"token {token}"}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/api/status", headers=headers, timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        for _ in range(4):
            r = requests.post(f"{url}/api/kernels", headers=headers, timeout=60,
                              data=json.dumps({"name": "ssh2"}))
            assert r.status_code == 201, r.text
        assert all(len(kernel_pids(h)) == 4 for h in ssh_bed.hosts)  # 2 launchers + 2 kernels
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        deadline = time.monotonic() + 5
        while any(kernel_pids(h) for h in ssh_bed.hosts) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [kernel_pids(h) for h in ssh_bed.hosts] == [[], []]
        # the server's pooled SSH connections ended with it (sshd notices the close at once)
        def sessions():
            return [c for h in ssh_bed.hosts for _, c in h.processes() if c.startswith("sshd:")]

        deadline = time.monotonic() + 5
        while sessions() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not sessions()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
