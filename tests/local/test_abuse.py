"""Fault and abuse suite: hostile input on the response and communication ports, late
callbacks, start/stop storms. Each test checks the user-facing result and that nothing
leaked; the totals are printed at the end of the run."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import time
import uuid

import pytest

from jupyter_remote_kernels.launch import CommClient, ResponseListener
from jupyter_remote_kernels.launch.protocol import canonical, mac, new_auth_key

from ..abuse import COUNTS
from ..kernels import KernelSession, pids_mentioning, start_launcher, wait_until

HELLO = b'{"protocol":"jrk-callback/1"}\n'


def hostile_inputs(kernel_id: str, seed: int) -> list[tuple[str, bytes, bool]]:
    """(name, bytes, send our hello first?) — random, huge, malformed and forged messages."""
    rng = random.Random(seed)
    inputs = [
        ("empty", b"", False),
        ("newline", b"\n", False),
        ("huge-frame", b"x" * (3 * 1024 * 1024), False),
        ("huge-after-hello", b"{" * (2 * 1024 * 1024), True),
        ("json-array", b"[1,2,3]\n", True),
        ("null-fields", b'{"kernel_id":null,"info":null,"mac":null}\n', True),
        ("wrong-types", json.dumps({"kernel_id": 5, "info": "x", "mac": 7}).encode() + b"\n", True),
        (
            "forged",
            canonical({"kernel_id": kernel_id, "info": {"kernel_id": kernel_id}, "mac": "0" * 64})
            + b"\n",
            True,
        ),
        (
            "forged-other-key",
            canonical(
                {
                    "kernel_id": kernel_id,
                    "info": {"kernel_id": kernel_id},
                    "mac": mac(
                        new_auth_key(), "jrk-callback/1", "0" * 32, {"kernel_id": kernel_id}
                    ),
                }
            )
            + b"\n",
            True,
        ),
        ("eg-like-base64", b"eyJ2ZXJzaW9uIjogMSwgImtleSI6ICJ4IiwgImNvbm5faW5mbyI6ICJ5In0=", False),
    ]
    for i in range(40):
        size = rng.choice([1, 16, 300, 5000, 70000])
        blob = bytes(rng.getrandbits(8) for _ in range(size))
        inputs.append((f"random-{i}", blob, rng.random() < 0.5))
    return inputs


def send(address: tuple[str, int], payload: bytes, hello: bool, timeout: float = 15) -> bytes:
    with socket.create_connection(address, timeout=timeout) as sock:
        try:
            if hello:
                sock.sendall(HELLO)
                sock.recv(4096)
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            return sock.recv(4096)
        except OSError:
            return b""


def slow_sender(address: tuple[str, int]) -> socket.socket:
    """Open a connection, send one byte and then nothing (a slow-loris)."""
    sock = socket.create_connection(address)
    sock.sendall(b"{")
    return sock


async def test_response_port_fuzz_while_a_real_launch_waits():
    listener = ResponseListener(read_timeout=2.0)
    kernel_id, auth_key = str(uuid.uuid4()), new_auth_key()
    waiter = listener.expect(kernel_id, auth_key)
    host, port = (await listener.address_for("127.0.0.1")).rsplit(":", 1)
    address = (host, int(port))
    loris = [await asyncio.to_thread(slow_sender, address) for _ in range(5)]
    inputs = hostile_inputs(kernel_id, seed=1)
    answers = await asyncio.gather(
        *(asyncio.to_thread(send, address, data, hello) for _, data, hello in inputs)
    )
    COUNTS["inputs"] += len(inputs) + len(loris)
    assert all(b"accepted" not in answer for answer in answers)
    assert not waiter.done()
    # the real launcher still gets through, after all that
    process = await start_launcher(listener, kernel_id, auth_key)
    try:
        info = await asyncio.wait_for(waiter, 60)
        assert info["comm_port"] > 0
        # slow-loris connections were cut by the read timeout
        await asyncio.sleep(2.5)
        for sock in loris:
            sock.settimeout(1)
            assert sock.recv(100) in (b"", b'{"status":"rejected"}\n')
            sock.close()
        comm = CommClient("127.0.0.1", info["comm_port"], kernel_id, auth_key)
        await comm.send("kill")
        await asyncio.wait_for(process.wait(), 15)
    finally:
        if process.returncode is None:
            process.kill()
        await listener.close()
    leaked = pids_mentioning(kernel_id)
    COUNTS["leaked"] += len(leaked)
    assert not leaked


async def test_comm_port_fuzz_leaves_the_kernel_alone(
    jp_fetch, jp_ws_fetch, kernels_dir, jp_serverapp
):
    response = await jp_fetch(
        "api", "kernels", method="POST", body=json.dumps({"name": "remote-python"})
    )
    kernel_id = json.loads(response.body)["id"]
    km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    info = await km.provisioner.get_provisioner_info()
    address = (info["comm"]["host"], info["comm"]["port"])
    inputs = hostile_inputs(kernel_id, seed=2)
    inputs += [
        (
            "forged-kill",
            canonical({"cmd": "kill", "kernel_id": kernel_id, "signum": None, "mac": "f" * 64})
            + b"\n",
            False,
        )
    ]
    answers = await asyncio.gather(
        *(asyncio.to_thread(send, address, data, False) for _, data, _hello in inputs)
    )
    COUNTS["inputs"] += len(inputs)
    assert all(b'"ok":true' not in answer for answer in answers)
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("print('alive')"))["stdout"] == "alive\n"
    session.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert await wait_until(lambda: not pids_mentioning(kernel_id))


async def test_callback_after_the_launch_gave_up_is_rejected_and_the_kernel_cleaned():
    listener = ResponseListener()
    kernel_id, auth_key = str(uuid.uuid4()), new_auth_key()
    listener.expect(kernel_id, auth_key)
    await listener.address_for("127.0.0.1")
    listener.forget(kernel_id)  # the launch timed out before the launcher called back
    COUNTS["faults"] += 1
    process = await start_launcher(listener, kernel_id, auth_key, stderr=asyncio.subprocess.PIPE)
    try:
        code = await asyncio.wait_for(process.wait(), 60)
        stderr = (await process.stderr.read()).decode()
    finally:
        if process.returncode is None:
            process.kill()
        await listener.close()
    assert code == 1
    assert "the server rejected the callback" in stderr
    leaked = pids_mentioning(kernel_id)
    COUNTS["leaked"] += len(leaked)
    assert not leaked
    assert listener.rejected >= 1


@pytest.mark.timeout(600)
async def test_fifty_start_stop_cycles_leave_nothing(jp_fetch, kernels_dir):
    ids: list[str] = []

    async def cycle() -> None:
        response = await jp_fetch(
            "api",
            "kernels",
            method="POST",
            body=json.dumps({"name": "remote-python"}),
            request_timeout=120,
        )
        kernel_id = json.loads(response.body)["id"]
        ids.append(kernel_id)
        await jp_fetch("api", "kernels", kernel_id, method="DELETE", request_timeout=120)

    started = time.monotonic()
    for _ in range(10):
        await asyncio.gather(*(cycle() for _ in range(5)))
    COUNTS["cycles"] += 50  # ordinary lifecycle, not faults
    assert len(set(ids)) == 50
    assert await wait_until(lambda: not any(pids_mentioning(k) for k in ids), timeout=15)
    leaked = [k for k in ids if pids_mentioning(k)]
    COUNTS["leaked"] += len(leaked)
    assert not leaked
    assert json.loads((await jp_fetch("api", "kernels")).body) == []
    print(f"50 start/stop cycles in {time.monotonic() - started:.1f} s")
