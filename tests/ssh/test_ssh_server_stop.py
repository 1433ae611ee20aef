"""Stopping a real `jupyter server` process leaves no launcher or kernel on any SSH host.

The test has hosts of its own (not the session's shared bed): the tests that run a server
inside the pytest process keep pooled SSH connections open to the shared hosts, and those
sshd sessions are not the stopped server's. The server logs to a file (an unread stderr
pipe would block it once full).
"""

from __future__ import annotations

import signal
import time

from ..kernels import write_kernelspec
from ..server_process import ServerProcess
from ..ssh_helpers import kernel_pids, ssh_spec, sshd_sessions


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_server_stop_leaves_nothing_on_the_hosts(tmp_path, ssh_bed_factory):
    bed = ssh_bed_factory(2)
    write_kernelspec(tmp_path / "data" / "kernels", "ssh2", ssh_spec(bed))
    server = ServerProcess(tmp_path, token="ssh-stop-token").start()
    try:
        for _ in range(4):
            r = server.request("POST", "/api/kernels", {"name": "ssh2"})
            assert r.status_code == 201, r.text
        # round-robin: 2 kernels per host, each a launcher and its kernel
        assert [len(kernel_pids(h)) for h in bed.hosts] == [4, 4]
        assert all(sshd_sessions(h) for h in bed.hosts)  # the server's pooled connections
        server.stop(signal.SIGTERM, timeout=30)
        assert server.process.returncode is not None
        # Processes are looked at on the hosts: none within the 5 s of the lifecycle promise.
        assert wait_for(lambda: not any(kernel_pids(h) for h in bed.hosts), 5), [
            kernel_pids(h) for h in bed.hosts
        ]
        # The server's SSH connections closed with it; sshd's session processes exit once
        # they read the close, which takes a moment on a loaded machine.
        assert wait_for(lambda: not any(sshd_sessions(h) for h in bed.hosts), 5), [
            h.processes() for h in bed.hosts
        ]
    finally:
        server.stop(signal.SIGKILL, timeout=10)
