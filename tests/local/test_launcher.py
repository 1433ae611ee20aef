"""The Python launcher on its own: exits with its kernel, cleans up, refuses to run unbundled."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from jupyter_remote_kernels.launch import CommClient, ResponseListener
from jupyter_remote_kernels.launch.protocol import new_auth_key

from ..kernels import (
    LAUNCHER,
    KernelSession,
    fake_pyspark,
    pid_alive,
    pids_mentioning,
    start_launcher,
    wait_until,
    write_kernelspec,
)


async def launch(kernel_id: str, auth_key: str):
    listener = ResponseListener()
    waiter = listener.expect(kernel_id, auth_key)
    process = await start_launcher(listener, kernel_id, auth_key)
    info = await asyncio.wait_for(waiter, 60)
    return listener, process, info


def connection_dirs(kernel_id: str) -> list[Path]:
    return [p.parent for p in Path("/tmp").glob(f"jrk-kernel-*/kernel-{kernel_id}.json")]


async def test_launcher_exits_when_its_kernel_dies():
    kernel_id, auth_key = str(uuid.uuid4()), new_auth_key()
    listener, process, info = await launch(kernel_id, auth_key)
    try:
        os.kill(info["pid"], signal.SIGKILL)
        assert await asyncio.wait_for(process.wait(), 10) == 128 + signal.SIGKILL
        assert not connection_dirs(kernel_id)
        reply = CommClient("127.0.0.1", info["comm_port"], kernel_id, auth_key, timeout=2)
        try:
            await reply.send("ping")
            raise AssertionError("the communication port is still open")
        except Exception as exc:  # refused: nobody listens any more
            assert "gone" in str(exc)
    finally:
        if process.returncode is None:
            process.kill()
        await listener.close()


async def test_sigterm_to_launcher_stops_kernel_and_cleans_up():
    kernel_id, auth_key = str(uuid.uuid4()), new_auth_key()
    listener, process, info = await launch(kernel_id, auth_key)
    try:
        comm = CommClient("127.0.0.1", info["comm_port"], kernel_id, auth_key)
        assert (await comm.send("ping"))["alive"] is True
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 10)
        assert await wait_until(lambda: not pid_alive(info["pid"]), timeout=5)
        assert not connection_dirs(kernel_id)
        assert not pids_mentioning(kernel_id)
    finally:
        if process.returncode is None:
            process.kill()
        await listener.close()


async def test_no_file_holds_the_key_even_if_the_launcher_is_killed():
    kernel_id, auth_key = str(uuid.uuid4()), new_auth_key()
    listener, process, info = await launch(kernel_id, auth_key)
    try:
        # the kernel has read its connection file: it is gone while the kernel runs
        assert await wait_until(lambda: not connection_dirs(kernel_id), timeout=5)
        await asyncio.sleep(1.5)  # ipykernel rewrites a missing file once, after binding
        assert not connection_dirs(kernel_id)
        comm = CommClient("127.0.0.1", info["comm_port"], kernel_id, auth_key)
        assert (await comm.send("ping"))["alive"] is True
        process.kill()  # the launcher can clean nothing up now
        await asyncio.wait_for(process.wait(), 10)
        assert not connection_dirs(kernel_id)
    finally:
        if process.returncode is None:
            process.kill()
        os.killpg(info["pgid"], signal.SIGKILL)
        await listener.close()


async def test_kernel_dies_with_a_launcher_killed_by_sigkill():
    """The kernel runs in a session of its own, so nothing else stops it when its launcher
    is SIGKILLed (no finally runs): its death signal (PR_SET_PDEATHSIG) does."""
    kernel_id, auth_key = str(uuid.uuid4()), new_auth_key()
    listener, process, info = await launch(kernel_id, auth_key)
    try:
        assert pid_alive(info["pid"])
        process.kill()
        await asyncio.wait_for(process.wait(), 10)
        assert await wait_until(lambda: not pid_alive(info["pid"]), timeout=10)
        assert not pids_mentioning(kernel_id)
    finally:
        if process.returncode is None:
            process.kill()
        try:
            os.killpg(info["pgid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
        await listener.close()


def test_launcher_without_bundle_refuses_clearly():
    done = subprocess.run(
        [sys.executable, LAUNCHER, "--kernel-id", "x", "--response-address", "127.0.0.1:1"],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "no valid launch bundle on standard input" in done.stderr


async def test_kernel_subprocesses_do_not_outlive_the_kernel(jp_fetch, jp_ws_fetch, kernels_dir):
    response = await jp_fetch(
        "api", "kernels", method="POST", body=json.dumps({"name": "remote-python"})
    )
    kernel_id = json.loads(response.body)["id"]
    marker = f"{uuid.uuid4().int % 10**6}.25"
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    await session.execute(f"import subprocess; p = subprocess.Popen(['sleep', '{marker}'])")
    assert pids_mentioning(f"sleep {marker}")
    session.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert await wait_until(lambda: not pids_mentioning(f"sleep {marker}"), timeout=10)
    assert not pids_mentioning(kernel_id)


def spark_spec(jp_kernel_dir, fake, mode, **env):
    write_kernelspec(
        jp_kernel_dir,
        "spark-ish",
        {
            "argv": [
                "python",
                "{launcher}",
                "--RemoteProcessProxy.kernel-id",
                "{kernel_id}",
                "--RemoteProcessProxy.response-address",
                "{response_address}",
                "--RemoteProcessProxy.spark-context-initialization-mode",
                mode,
            ],
            "env": {"PYTHONPATH": str(fake), **env},
            "metadata": {"process_proxy": {"class_name": "local"}},
        },
    )


@pytest.mark.parametrize("mode", ["eager", "lazy"])
async def test_spark_context_initialization_modes(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, tmp_path, mode
):
    # A stand-in pyspark whose session takes 3 s: a lazy kernel answers before it exists,
    # and its first cell, run at once, waits for it instead of failing.
    fake = fake_pyspark(tmp_path)
    spark_spec(jp_kernel_dir, fake, mode, FAKE_SPARK_DELAY="3")
    response = await jp_fetch(
        "api", "kernels", method="POST", body=json.dumps({"name": "spark-ish"})
    )
    kernel_id = json.loads(response.body)["id"]
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute("print(spark.range(1000).count(), sc.version, sc)")
    assert reply["stdout"] == "1000 fake-4.0 fake-context\n", reply
    # Then the names are the session's own objects, not stand-ins.
    reply = await session.execute("print(type(spark).__name__, type(sqlContext).__name__)")
    assert reply["stdout"] == "_Session _Session\n", reply
    session.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")


async def test_lazy_spark_keeps_a_name_rebound_before_it_is_ready_and_says_why_it_failed(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, tmp_path
):
    fake = fake_pyspark(tmp_path)
    spark_spec(jp_kernel_dir, fake, "lazy", FAKE_SPARK_DELAY="2")
    response = await jp_fetch(
        "api", "kernels", method="POST", body=json.dumps({"name": "spark-ish"})
    )
    kernel_id = json.loads(response.body)["id"]
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    await session.execute("sqlCtx = 'mine'")
    reply = await session.execute("print(sc.version, sqlCtx)")
    assert reply["stdout"] == "fake-4.0 mine\n", reply
    session.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")

    # Spark could not create the session: the first use says so, with Spark's message.
    spark_spec(
        jp_kernel_dir, fake, "lazy", FAKE_SPARK_ERROR="Queue root.small is full; try later"
    )
    response = await jp_fetch(
        "api", "kernels", method="POST", body=json.dumps({"name": "spark-ish"})
    )
    kernel_id = json.loads(response.body)["id"]
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute("spark.range(3).count()")
    assert reply["ename"] == "RuntimeError", reply
    assert reply["evalue"] == (
        "spark is not available: creating the SparkSession failed: "
        "RuntimeError: Queue root.small is full; try later"
    )
    session.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
