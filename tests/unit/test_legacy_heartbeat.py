"""A legacy (EG / GP) launcher reports its kernel's ports before ipykernel binds them: a
refused heartbeat port before it has ever accepted is a kernel still starting, not a dead
one (on a busy machine Jupyter's restarter otherwise "restarts" it, SIGTERMing the live
kernel seconds after its start: seen with GP's launcher on the real YARN cluster). Real
sockets on loopback."""

from __future__ import annotations

import asyncio
import socket

from jupyter_remote_kernels.launch.legacy import LegacyCommClient
from jupyter_remote_kernels.launch.link import LauncherLink


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_heartbeat_is_starting_until_it_was_up_once():
    async def check() -> list[bool]:
        hb = free_port()
        client = LegacyCommClient("127.0.0.1", free_port(), "k1", hb, timeout=2)
        seen = [await client.kernel_alive()]  # not bound yet: starting
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", hb)
        seen.append(await client.kernel_alive())  # bound: up
        server.close()
        await server.wait_closed()
        seen.append(await client.kernel_alive())  # was up, now refused: gone
        return seen

    assert asyncio.run(check()) == [True, True, False]


def test_refused_heartbeat_is_gone_for_a_reattached_kernel_or_a_gone_listener():
    async def check() -> list[bool]:
        hb, comm = free_port(), free_port()
        record = {"host": "127.0.0.1", "port": comm, "legacy_hb_port": hb}
        link = LauncherLink.from_record(record, "k2", None, 2)
        fresh = LegacyCommClient("127.0.0.1", comm, "k3", hb, timeout=2)
        # A terminate whose listener is gone too (refused): the kernel is gone, not starting.
        reply = await fresh.send("terminate")
        return [await link.client.kernel_alive(), reply["alive"]]

    assert asyncio.run(check()) == [False, False]
