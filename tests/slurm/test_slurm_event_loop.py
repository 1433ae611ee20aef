"""Slurm kernels in the test's own Jupyter Server (pytest-jupyter), with every blocking call
on the event loop from this package failing the test (``no_blocking``), and a slow Slurm
controller that must not slow other users' requests."""

from __future__ import annotations

import asyncio
import json
import stat
import time
from pathlib import Path

import pytest

from testing.specs import slurm_spec, write_kernelspec

from ..kernels import KernelSession, wait_until
from ..slurm_helpers import alive_jobs, nothing_left

pytestmark = pytest.mark.timeout(600)



async def start(jp_fetch, name: str) -> dict:
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": name}),
                              request_timeout=200)
    return json.loads(response.body)


async def test_slurm_kernel_without_blocking_the_event_loop(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, slurm_cluster, no_blocking
):
    """start, execute, interrupt, restart, delete through the server's event loop."""
    write_kernelspec(jp_kernel_dir, "slurm-py", slurm_spec(slurm_cluster))
    model = await start(jp_fetch, "slurm-py")
    kernel_id, first = model["id"], model["placement"]
    assert first["kind"] == "slurm" and first["phase"] == "ready", first
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute("import socket; print(socket.gethostname())")
    assert reply["stdout"].strip() == first["host"], reply
    await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
    await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="",
                   request_timeout=200)
    model = json.loads((await jp_fetch("api", "remote-kernels", kernel_id)).body)
    assert model["placement"]["details"]["job_id"] != first["details"]["job_id"], model
    response = await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert response.code == 204
    left = await asyncio.to_thread(nothing_left, slurm_cluster, [kernel_id])
    assert left == ([], []), left


def slow_bin_dir(folder: Path, delay: float) -> Path:
    """A slurm_bin_dir whose sbatch and squeue answer only after ``delay`` seconds."""
    folder.mkdir(parents=True)
    for name in ("sbatch", "squeue", "scancel", "scontrol"):
        wrapper = folder / name
        pause = f"sleep {delay}\n" if name in ("sbatch", "squeue") else ""
        wrapper.write_text(f"#!/bin/sh\n{pause}exec /usr/bin/{name} \"$@\"\n")
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return folder


async def test_a_slow_controller_does_not_slow_other_requests(
    jp_fetch, jp_kernel_dir, slurm_cluster, tmp_path, no_blocking
):
    """sbatch and squeue take 3 s each: a Slurm start takes that long, while the server goes
    on answering other users at once."""
    spec = slurm_spec(slurm_cluster, slurm_bin_dir=str(slow_bin_dir(tmp_path / "bin", 3)))
    write_kernelspec(jp_kernel_dir, "slurm-slow", spec)
    starting = asyncio.create_task(start(jp_fetch, "slurm-slow"))
    slowest = 0.0
    while not starting.done():
        t0 = time.monotonic()
        await jp_fetch("api", "kernels")
        await jp_fetch("api", "remote-kernels")
        slowest = max(slowest, time.monotonic() - t0)
        await asyncio.sleep(0.1)
    model = starting.result()
    assert model["placement"]["phase"] == "ready", model
    # A blocked loop would hold a request for a whole 3 s sbatch or squeue; half of it is a
    # generous bound for two busy cores.
    assert slowest < 1.5, slowest
    await jp_fetch("api", "kernels", model["id"], method="DELETE")
    assert await wait_until(lambda: not alive_jobs(slurm_cluster, model["id"]), 60)
