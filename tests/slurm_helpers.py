"""Helpers of the Slurm tests: kernelspecs installed as an admin would, starts, leftovers.

What is left is asserted from Slurm (``squeue``) and the nodes' process tables
(``slurm_cluster.node_processes``), never from the server's bookkeeping.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from .kernels import wait_for
from .server_process import ServerProcess

__all__ = [
    "LAUNCH_TIMEOUT",
    "alive_jobs",
    "install_slurm_spec",
    "nothing_left",
    "placement",
    "start_kernel",
    "wait_for",
]

LAUNCH_TIMEOUT = 90.0


def install_slurm_spec(cluster, base: Path, name: str, *, partition: str = "debug",
                       cli_options: tuple[str, ...] = (), **config: Any) -> Path:
    """``jupyter remote-kernels install slurm`` as an admin runs it, into the server's path;
    ``cli_options``: more install options; ``config`` adds process_proxy.config values."""
    prefix = base / "prefix"
    subprocess.run(
        [sys.executable, "-m", "jupyter_remote_kernels.cli", "install", "slurm",
         "--partition", partition, "--slurm-conf", cluster.env()["SLURM_CONF"],
         "--python", sys.executable, "--prefix", str(prefix), "--name", name,
         "--launch-timeout", str(config.pop("launch_timeout", LAUNCH_TIMEOUT)), *cli_options],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    target = base / "data" / "kernels" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    (prefix / "share" / "jupyter" / "kernels" / name).rename(target)
    spec = json.loads((target / "kernel.json").read_text())
    spec["metadata"]["process_proxy"]["config"].update(
        {"slurm_poll_interval": 0.5, "cancel_timeout": 60, **config}
    )
    (target / "kernel.json").write_text(json.dumps(spec, indent=1))
    return target


def start_kernel(server: ServerProcess, name: str, timeout: float = LAUNCH_TIMEOUT + 60,
                 **env: str):
    """``POST /api/kernels`` (the response, whatever its status)."""
    body = {"name": name, "env": env} if env else {"name": name}
    return server.request("POST", "/api/kernels", body, timeout=timeout)


def placement(server: ServerProcess, kernel_id: str) -> dict:
    return server.request("GET", f"/api/remote-kernels/{kernel_id}").json()["placement"]


def alive_jobs(cluster, kernel_id: str = "") -> list[dict]:
    """Jobs of the cluster (of ``kernel_id``, if given) that squeue shows alive."""
    return [j for j in cluster.jobs() if not kernel_id or j["name"] == kernel_id]


def nothing_left(cluster, kernel_ids=(), timeout: float = 60) -> tuple[list, list]:
    """Wait until no job of ``kernel_ids`` (of anyone, if empty) is alive and no job process
    is on any node; returns what is still there then: (jobs, processes)."""

    def left():
        jobs = [j for j in cluster.jobs() if not kernel_ids or j["name"] in kernel_ids]
        return jobs, cluster.all_node_processes()

    wait_for(lambda: left() == ([], []), timeout)
    return left()
