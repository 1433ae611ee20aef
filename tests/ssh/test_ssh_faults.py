"""SSH faults through a real Jupyter Server: a host going down mid-session, start/stop storms.

What is left is looked at on the hosts (their processes, sshd's sessions), not in the
manager's bookkeeping; each test adds to the abuse suite's counts.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from ..abuse import COUNTS
from ..kernels import KernelSession, wait_until, write_kernelspec
from ..ssh_helpers import (
    WHERE,
    connections_within_pool,
    delete_kernel,
    kernel_pids,
    nothing_left,
    post_kernel,
    server_pool,
    ssh_spec,
)


async def wait_for_status(session: KernelSession, state: str, timeout: float) -> float:
    """Seconds until the websocket carries an IOPub status ``state`` (as JupyterLab sees it)."""
    started = time.monotonic()
    async for message in session.messages(timeout, f"'{state}' status"):
        content = message.get("content") or {}
        if message.get("msg_type") == "status" and content.get("execution_state") == state:
            return time.monotonic() - started
    raise AssertionError("unreachable")


@pytest.mark.timeout(180)
async def test_host_down_mid_session_kernel_restarts_elsewhere(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, ssh_bed_factory, jp_serverapp
):
    bed = ssh_bed_factory(2)
    write_kernelspec(jp_kernel_dir, "ssh-hd", ssh_spec(bed, connect_timeout=3))
    model = await post_kernel(jp_fetch, "ssh-hd")
    kernel_id = model["id"]
    down = next(h for h in bed.hosts if h.address == model["placement"]["ip"])
    up = next(h for h in bed.hosts if h is not down)
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("x = 42; print(x)"))["stdout"] == "42\n"

    started = time.monotonic()
    await asyncio.to_thread(down.stop)  # sshd, launcher and kernel gone; link down
    COUNTS["faults"] += 1
    # The server notices (its restarter polls the kernel) and tells the notebook.
    noticed = await wait_for_status(session, "restarting", 60)

    # ... and the restart lands on the host that is up.
    async def moved() -> bool:
        body = json.loads((await jp_fetch("api", "remote-kernels", kernel_id)).body)
        return body["placement"]["phase"] == "ready" and body["placement"]["ip"] == up.address

    deadline = time.monotonic() + 60
    while not await moved():
        assert time.monotonic() < deadline, "the kernel was not restarted on the other host"
        await asyncio.sleep(0.2)
    restarted = time.monotonic() - started
    print(f"host down: reported after {noticed:.1f} s, running elsewhere after {restarted:.1f} s")
    session.close()
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    out = (await session.execute(WHERE + "; print('x' in dir())"))["stdout"].split()
    session.close()
    if bed.distinct_hostnames:
        assert out[0] == up.hostname
    assert out[2] == "False"  # a new kernel: the old one's state went down with its host
    assert len(kernel_pids(up)) == 2  # its launcher and kernel, nothing else

    response = await delete_kernel(jp_fetch, kernel_id)
    assert response.code == 204
    assert await wait_until(lambda: not kernel_pids(up), 5)
    leaked = kernel_pids(up)
    COUNTS["leaked"] += len(leaked)
    assert not leaked
    assert connections_within_pool(bed, server_pool(jp_serverapp))
    # New starts while the host is still down land on the other one too, quickly (the
    # pool remembers the failed host for a while instead of waiting for it every time).
    for _ in range(2):
        began = time.monotonic()
        model = await post_kernel(jp_fetch, "ssh-hd")
        assert model["placement"]["ip"] == up.address
        assert time.monotonic() - began < 15
        await delete_kernel(jp_fetch, model["id"])
    assert await wait_until(lambda: nothing_left(bed), 5)


@pytest.mark.timeout(300)
async def test_fifty_concurrent_start_stop_cycles_on_two_hosts(
    jp_fetch, jp_kernel_dir, ssh_bed, no_blocking, jp_serverapp
):
    write_kernelspec(jp_kernel_dir, "ssh-storm", ssh_spec(ssh_bed))
    ids: list[str] = []
    placed: dict[str, int] = {}
    deletes: list[float] = []

    async def cycle() -> None:
        model = await post_kernel(jp_fetch, "ssh-storm")
        ids.append(model["id"])
        ip = model["placement"]["ip"]
        placed[ip] = placed.get(ip, 0) + 1
        began = time.monotonic()
        response = await delete_kernel(jp_fetch, model["id"])
        assert response.code == 204
        deletes.append(time.monotonic() - began)

    started = time.monotonic()
    for _ in range(5):
        await asyncio.gather(*(cycle() for _ in range(10)))
    elapsed = time.monotonic() - started
    COUNTS["cycles"] += 50  # ordinary lifecycle, not faults
    assert len(set(ids)) == 50
    assert placed == {h.address: 25 for h in ssh_bed.hosts}  # round-robin
    assert await wait_until(lambda: nothing_left(ssh_bed), 10)
    leaked = [p for h in ssh_bed.hosts for p in kernel_pids(h)]
    COUNTS["leaked"] += len(leaked)
    assert not leaked
    # No SSH session beyond the pool's connections (sshd ends a closed one in a moment).
    assert await wait_until(
        lambda: connections_within_pool(ssh_bed, server_pool(jp_serverapp)), 5
    ), [
        (server_pool(jp_serverapp).connection_count(h.address), h.processes())
        for h in ssh_bed.hosts
    ]
    assert json.loads((await jp_fetch("api", "kernels")).body) == []
    print(
        f"50 ssh start/stop cycles (10 at once) in {elapsed:.1f} s; slowest delete "
        f"{max(deletes):.1f} s"
    )
