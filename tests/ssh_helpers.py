"""Helpers of the SSH tests and benchmarks: ssh kernelspecs for a test bed, host checks."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

#: The hosts share this machine's file system: the test Python (with ipykernel) is there too.
#: Not resolved through symlinks: a virtualenv's ``bin/python`` is a symlink to the base
#: interpreter, which would not see the venv's packages (ipykernel) from there.
REMOTE_PYTHON = os.path.abspath(sys.executable)
EG_DISTRIBUTED = "enterprise_gateway.services.processproxies.distributed.DistributedProcessProxy"

SSH_ARGV = [
    "python",
    "{launcher}",
    "--kernel-id",
    "{kernel_id}",
    "--response-address",
    "{response_address}",
    "--port-range",
    "{port_range}",
    "--kernel-class-name",
    "{kernel_class_name}",
]


def ssh_spec(bed, hosts=None, **config: Any) -> dict[str, Any]:
    """An ssh kernelspec (EG class name, comma-separated remote_hosts) for ``bed``."""
    hosts = bed.hosts if hosts is None else hosts
    env = config.pop("env", {})
    return {
        "env": env,
        "argv": SSH_ARGV,
        "display_name": "Python (ssh)",
        "language": "python",
        "metadata": {
            "process_proxy": {
                "class_name": EG_DISTRIBUTED,
                "config": {
                    "remote_hosts": ",".join(
                        h.address if h.port == 22 else f"{h.address}:{h.port}" for h in hosts
                    ),
                    "remote_user": bed.user,
                    "ssh_key_file": str(bed.client_key_path),
                    "allow_agent": False,
                    "known_hosts_file": str(bed.known_hosts_path),
                    "python": REMOTE_PYTHON,
                    "launch_timeout": 30,
                    **config,
                },
            }
        },
    }


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


async def delete_kernel(jp_fetch, kernel_id: str):
    """DELETE /api/kernels/<id> (the response; 204 when the kernel was shut down)."""
    return await jp_fetch(
        "api", "kernels", kernel_id, method="DELETE", request_timeout=KERNEL_REQUEST_TIMEOUT
    )
