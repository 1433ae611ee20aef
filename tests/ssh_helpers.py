"""Helpers of the SSH tests and benchmarks: ssh kernelspecs for a test bed, host checks."""

from __future__ import annotations

import json
from typing import Any

from jupyter_remote_kernels.ssh import connections_of
from jupyter_remote_kernels.ssh.pool import SSHTarget
from testing.specs import EG_DISTRIBUTED, REMOTE_PYTHON, SSH_ARGV, ssh_spec

# Also the helpers of this module for the tests (the benchmarks use testing.specs).
__all__ = ["EG_DISTRIBUTED", "REMOTE_PYTHON", "SSH_ARGV", "ssh_spec"]


def bed_target(bed, host) -> SSHTarget:
    """How the product reaches ``host`` of ``bed``: its key, its known_hosts, no agent."""
    return SSHTarget(
        host=host.address,
        port=host.port,
        user=bed.user,
        key_file=str(bed.client_key_path),
        known_hosts=str(bed.known_hosts_path),
        allow_agent=False,
        connect_timeout=5,
    )


def kernel_pids(host) -> list[tuple[int, str]]:
    """Launcher and kernel processes on ``host`` (sshd and its sessions excluded)."""
    return [
        (pid, cmd)
        for pid, cmd in host.processes(exclude_sshd=True)
        if "launch_ipykernel" in cmd or "ipykernel" in cmd or "jrk-launcher" in cmd
    ]


def sshd_sessions(host) -> int:
    """sshd's per-connection processes on ``host`` (one or two per open connection)."""
    return len([1 for _, cmd in host.processes() if cmd.startswith("sshd:") and "@" in cmd])


#: Seconds the tests' HTTP client waits for one kernel request (jp_fetch's default is 20 s).
#: A start may take its launch_timeout (30 s in ssh_spec) and a shutdown the sum of its
#: steps' own timeouts (interrupt, shutdown wait, terminate, kill: each communication-port
#: message up to comm_timeout) on a loaded 2-core machine; the product bounds both.
KERNEL_REQUEST_TIMEOUT = 120


async def post_kernel(jp_fetch, name: str, **body: Any) -> dict[str, Any]:
    response = await jp_fetch(
        "api",
        "kernels",
        method="POST",
        body=json.dumps({"name": name, **body}),
        request_timeout=KERNEL_REQUEST_TIMEOUT,
    )
    return json.loads(response.body)


def server_pool(serverapp):
    """The SSH connection pool of an in-process server (its kernel manager's service)."""

    return connections_of(serverapp.kernel_manager.services).pool


WHERE = "import socket, os; print(socket.gethostname(), os.getpid())"


def nothing_left(bed) -> bool:
    return not any(kernel_pids(h) for h in bed.hosts)


def connections_within_pool(bed, pool) -> bool:
    """No SSH connection is open to a host beyond those the server's pool keeps.

    A connection of an earlier server (an earlier test) ends a moment after that server
    closed it: callers wait for this to hold.
    """
    return all(sshd_sessions(h) <= pool.connection_count(h.address) for h in bed.hosts)


async def delete_kernel(jp_fetch, kernel_id: str):
    """DELETE /api/kernels/<id> (the response; 204 when the kernel was shut down)."""
    return await jp_fetch(
        "api", "kernels", kernel_id, method="DELETE", request_timeout=KERNEL_REQUEST_TIMEOUT
    )
