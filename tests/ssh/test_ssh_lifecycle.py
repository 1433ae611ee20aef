"""Kernels on real sshd hosts, through a real Jupyter Server's REST + websocket API."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from ..kernels import KernelSession, wait_until, write_kernelspec
from ..requirements import require
from ..ssh_helpers import (
    WHERE,
    connections_within_pool,
    kernel_pids,
    nothing_left,
    post_kernel,
    server_pool,
    ssh_spec,
)


async def where(jp_ws_fetch, kernel_id: str) -> tuple[str, int]:
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    try:
        out = (await session.execute(WHERE))["stdout"].split()
    finally:
        session.close()
    return out[0], int(out[1])


async def test_two_hosts_execute_interrupt_restart_shutdown(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, ssh_bed, no_blocking, jp_serverapp
):
    require(
        ssh_bed.distinct_hostnames,
        "SSH hosts with hostnames of their own (network namespaces)",
        "run the tests as root on Linux with iproute2 (`ip netns`)",
    )
    write_kernelspec(jp_kernel_dir, "ssh2", ssh_spec(ssh_bed))
    models = [await post_kernel(jp_fetch, "ssh2") for _ in range(2)]
    hostnames = {h.hostname: h for h in ssh_bed.hosts}
    placed = set()
    for model in models:
        placement = model["placement"]
        assert placement["kind"] == "ssh"
        assert placement["phase"] == "ready"
        name, pid = await where(jp_ws_fetch, model["id"])
        host = hostnames[name]
        # The configured name (the remote_hosts entry); the host's own name in detail.
        assert placement["host"] == host.address
        assert placement["detail"] == f"hostname {name}"
        assert placement["ip"] == host.address
        assert pid in [p for p, _ in kernel_pids(host)]
        placed.add(name)
        response = await jp_fetch("api", "remote-kernels", model["id"])
        assert json.loads(response.body)["placement"]["host"] == host.address
    assert placed == set(hostnames)  # round-robin: one kernel on each host

    kernel_id = models[0]["id"]
    host = next(h for h in ssh_bed.hosts if h.address == models[0]["placement"]["host"])
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("x = 6 * 7; print(x)"))["stdout"] == "42\n"
    msg_id = await session.send_execute("import time; time.sleep(60)")
    await session.wait_started(msg_id)
    await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
    reply = await session.wait_reply(msg_id, timeout=20)
    assert reply["ename"] == "KeyboardInterrupt"
    assert (await session.execute("print(x)"))["stdout"] == "42\n"
    session.close()

    # The kernel is detached from its SSH session: dropping every connection keeps it alive.
    before = {p for p, _ in kernel_pids(host)}
    server_pool(jp_serverapp).close()
    await asyncio.sleep(0.5)
    assert {p for p, _ in kernel_pids(host)} == before
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("print(x)"))["stdout"] == "42\n"
    session.close()

    _, old_pid = await where(jp_ws_fetch, kernel_id)
    await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
    assert await wait_until(lambda: old_pid not in [p for p, _ in kernel_pids(host)], 5)
    name, new_pid = await where(jp_ws_fetch, kernel_id)
    assert name == host.hostname  # a restart stays on the kernel's host
    assert new_pid != old_pid
    assert len(kernel_pids(host)) == 2  # one launcher, one kernel

    for model in models:
        response = await jp_fetch("api", "kernels", model["id"], method="DELETE")
        assert response.code == 204
    assert await wait_until(lambda: nothing_left(ssh_bed), 5), [
        kernel_pids(h) for h in ssh_bed.hosts
    ]
    pool = server_pool(jp_serverapp)
    assert await wait_until(lambda: connections_within_pool(ssh_bed, pool), 5), [
        (pool.connection_count(h.address), h.processes()) for h in ssh_bed.hosts
    ]


async def test_shell_syntax_in_start_request_runs_nothing(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, ssh_bed, tmp_path, no_blocking
):
    marker = Path(f"/tmp/jrk-injected-{uuid.uuid4().hex}")  # hosts share this file system
    values = {
        "KERNEL_EXTRA_SPARK_OPTS": f"$(touch {marker})",
        "KERNEL_EXTRA": f"`touch {marker}`; touch {marker} && echo",
        "KERNEL_QUOTES": f"'\"; touch {marker}; echo \"'",
        "KERNEL_WORKING_DIR": str(tmp_path),
    }
    write_kernelspec(jp_kernel_dir, "ssh-env", ssh_spec(ssh_bed, env={"SPEC_VAR": "a;b `c`"}))
    model = await post_kernel(jp_fetch, "ssh-env", env=values)
    session = await KernelSession.open(jp_ws_fetch, model["id"])
    code = "import os, json; print(json.dumps({k: os.environ.get(k) for k in %r}))" % (
        [*values, "SPEC_VAR"]
    )
    seen = json.loads((await session.execute(code))["stdout"])
    assert seen == {**values, "SPEC_VAR": "a;b `c`"}  # arrived literally
    assert (await session.execute("import os; print(os.getcwd())"))["stdout"].strip() == str(
        tmp_path
    )
    session.close()
    await jp_fetch("api", "kernels", model["id"], method="DELETE")
    assert not marker.exists()
    assert await wait_until(lambda: nothing_left(ssh_bed), 5)


async def test_least_loaded_from_the_first_launch(jp_fetch, jp_kernel_dir, ssh_bed, no_blocking):
    write_kernelspec(jp_kernel_dir, "ssh-ll", ssh_spec(ssh_bed, load_balancing="least-loaded"))
    models = await asyncio.gather(*(post_kernel(jp_fetch, "ssh-ll") for _ in range(4)))
    counts = {}
    for model in models:
        counts[model["placement"]["ip"]] = counts.get(model["placement"]["ip"], 0) + 1
    assert counts == {h.address: 2 for h in ssh_bed.hosts}
    # one more goes to a host once another's kernel has gone
    gone = next(m for m in models if m["placement"]["ip"] == ssh_bed.hosts[1].address)
    await jp_fetch("api", "kernels", gone["id"], method="DELETE")
    extra = await post_kernel(jp_fetch, "ssh-ll")
    assert extra["placement"]["ip"] == ssh_bed.hosts[1].address
    for model in [*models, extra]:
        if model is not gone:
            await jp_fetch("api", "kernels", model["id"], method="DELETE")
    assert await wait_until(lambda: nothing_left(ssh_bed), 5)


async def test_round_robin_counts_starts_not_restarts(
    jp_fetch, jp_kernel_dir, ssh_bed, no_blocking
):
    """Start, restart, delete three times in a row: the kernels alternate between hosts.

    A restart stays on its kernel's host and takes no turn (it used to take one, so every
    new kernel of such cycles landed on the first host).
    """
    write_kernelspec(jp_kernel_dir, "ssh-rr", ssh_spec(ssh_bed))
    placed = []
    for _ in range(3):
        model = await post_kernel(jp_fetch, "ssh-rr")
        kernel_id, ip = model["id"], model["placement"]["ip"]
        await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
        restarted = json.loads((await jp_fetch("api", "kernels", kernel_id)).body)
        assert restarted["placement"]["ip"] == ip  # a restart stays on its host
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")
        placed.append(ip)
    assert placed[0] != placed[1] and placed[1] != placed[2], placed
    assert set(placed) == {h.address for h in ssh_bed.hosts}
    assert await wait_until(lambda: nothing_left(ssh_bed), 5)


async def test_kernel_remote_host_hint(jp_fetch, jp_kernel_dir, ssh_bed, no_blocking):
    write_kernelspec(jp_kernel_dir, "ssh-hint", ssh_spec(ssh_bed))
    second = ssh_bed.hosts[1].address
    for _ in range(2):
        model = await post_kernel(jp_fetch, "ssh-hint", env={"KERNEL_REMOTE_HOST": second})
        assert model["placement"]["ip"] == second
        await jp_fetch("api", "kernels", model["id"], method="DELETE")
    with pytest.raises(HTTPClientError) as info:
        await post_kernel(jp_fetch, "ssh-hint", env={"KERNEL_REMOTE_HOST": "elsewhere"})
    assert info.value.code == 503
    assert "not one of" in info.value.response.body.decode()
    assert await wait_until(lambda: nothing_left(ssh_bed), 5)


@pytest.mark.parametrize("host_agent", [True, False])
async def test_launch_through_the_agent_or_an_ssh_command(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, ssh_bed, no_blocking, host_agent, jp_serverapp
):
    """Both launch paths start a detached kernel; the agent runs the same command line."""
    write_kernelspec(jp_kernel_dir, "ssh-path", ssh_spec(ssh_bed, host_agent=host_agent))
    host = ssh_bed.hosts[0]
    model = await post_kernel(jp_fetch, "ssh-path", env={"KERNEL_REMOTE_HOST": host.address})
    launchers = [c for _, c in kernel_pids(host) if "jrk-launcher-over-ssh" in c]
    assert len(launchers) == 1 and model["id"] in launchers[0]  # ps tells launchers apart
    name, _ = await where(jp_ws_fetch, model["id"])
    assert name == host.hostname
    await jp_fetch("api", "kernels", model["id"], method="DELETE")
    assert await wait_until(lambda: nothing_left(ssh_bed), 5)
    pool = server_pool(jp_serverapp)
    assert await wait_until(lambda: connections_within_pool(ssh_bed, pool), 5), [
        (pool.connection_count(h.address), h.processes()) for h in ssh_bed.hosts
    ]
