"""Enterprise Gateway kernelspecs with LocalProcessProxy run unchanged."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest

from ..kernels import EG_LAUNCHER_ARGV, KernelSession, pids_mentioning, wait_until, write_kernelspec

EG_LOCAL = "enterprise_gateway.services.processproxies.processproxy.LocalProcessProxy"


@pytest.mark.parametrize(
    ("argv", "kind"),
    [
        # EG's own local specs: a plain kernel, no launcher
        (["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"], "plain"),
        # our launcher, with EG's option spellings and placeholders
        (EG_LAUNCHER_ARGV, "local"),
    ],
)
async def test_eg_local_process_proxy_spec(jp_fetch, jp_ws_fetch, jp_kernel_dir, argv, kind):
    write_kernelspec(
        jp_kernel_dir,
        "eg_local",
        {
            "argv": argv,
            "display_name": "EG local",
            "metadata": {"process_proxy": {"class_name": EG_LOCAL}},
        },
    )
    response = await jp_fetch(
        "api", "kernels", method="POST", body=json.dumps({"name": "eg_local"})
    )
    model = json.loads(response.body)
    kernel_id = model["id"]
    assert model["placement"]["kind"] == kind
    assert model["placement"]["phase"] == "ready"
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute("import os; print(os.getpid())")
    assert reply["status"] == "ok"
    kernel_pid = int(reply["stdout"])
    if kind == "local":
        assert model["placement"]["pid"] == kernel_pid
    msg_id = await session.send_execute("import time; time.sleep(60)")
    await session.wait_started(msg_id)
    await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
    assert (await session.wait_reply(msg_id))["ename"] == "KeyboardInterrupt"
    session.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert await wait_until(lambda: not pids_mentioning(kernel_id))


def listening_ports(pid: int) -> set[int]:
    """TCP ports process ``pid`` listens on, from its open sockets and /proc/<pid>/net/tcp*."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def test_eg_port_range_config_is_applied(jp_fetch, jp_ws_fetch, jp_kernel_dir, jp_serverapp):
    """EG's port_range: the ports the kernel really listens on are in it (and are the ones
    its connection file, as the server hands it to clients, names)."""
    write_kernelspec(
        jp_kernel_dir,
        "eg_ranged",
        {
            "argv": EG_LAUNCHER_ARGV,
            "metadata": {
                "process_proxy": {"class_name": EG_LOCAL, "config": {"port_range": "40000..40100"}}
            },
        },
    )
    response = await jp_fetch(
        "api", "kernels", method="POST", body=json.dumps({"name": "eg_ranged"})
    )
    model = json.loads(response.body)
    kernels = json.loads((await jp_fetch("api", "kernels")).body)
    assert kernels[0]["id"] == model["id"]
    session = await KernelSession.open(jp_ws_fetch, model["id"])
    # Its pid, and the one port ipykernel binds for itself (the IOPub pipe of forked
    # children, on 127.0.0.1: ipykernel/iostream.py), which no launcher chooses.
    reply = await session.execute(
        "import os, sys; print(os.getpid(), getattr(sys.stdout.pub_thread, '_pipe_port', 0))"
    )
    session.close()
    assert reply["status"] == "ok", reply
    pid, pipe_port = (int(x) for x in reply["stdout"].split())
    listening = listening_ports(pid) - {pipe_port}
    assert len(listening) == 5, listening  # shell, iopub, stdin, control, heartbeat
    assert all(40000 <= p <= 40100 for p in listening), listening
    # The connection file the server wrote and its clients connect with names those ports.
    km = jp_serverapp.kernel_manager.get_kernel(model["id"])
    info = json.loads(Path(km.connection_file).read_text())
    assert {v for k, v in info.items() if k.endswith("_port")} == listening, info
    await jp_fetch("api", "kernels", model["id"], method="DELETE")
