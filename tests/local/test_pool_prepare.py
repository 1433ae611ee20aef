"""A warm pool's kernel takes its user's working directory and environment (``prepare``).

The real launcher runs as a subprocess with a pool bundle (``make_bundle(..., pool=True)``),
as the local provisioner starts it; ``prepare`` goes over its real communication port through
:class:`LauncherLink`; a jupyter_client kernel client (the asynchronous one: the tests run
on an event loop) then looks inside the kernel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import uuid

import pytest
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import KernelManager

from jupyter_remote_kernels.errors import CommPortError
from jupyter_remote_kernels.launch import CommClient, ResponseListener, protocol
from jupyter_remote_kernels.launch.bundle import make_bundle
from jupyter_remote_kernels.launch.link import LauncherLink

from ..kernels import fake_pyspark, pid_alive, pids_mentioning, start_launcher, wait_until

# What the first cell of a kernel prints: its names, its cwd and one environment variable.
LOOK = (
    "print(sorted(dir()))\n"
    "import os, threading\n"
    "print(os.getcwd())\n"
    "print(os.environ.get('JRK_TEST_VALUE'), 'JRK_PREPARE_FDS' in os.environ)\n"
    "[t.join(5) for t in threading.enumerate() if t.name == 'jrk-prepare']\n"  # it is ending
    "print(sorted(t.name for t in threading.enumerate() if t.name.startswith('jrk')))\n"
)


class Launched:
    """One launcher subprocess with its kernel, its link and the kernel's session key."""

    def __init__(self, listener, process, info, kernel_id, auth_key, km):
        self.listener, self.process, self.info = listener, process, info
        self.kernel_id, self.auth_key, self.km = kernel_id, auth_key, km
        self.link = LauncherLink(CommClient("127.0.0.1", info["comm_port"], kernel_id, auth_key))

    async def run(self, code: str) -> tuple[str, int]:
        """Run ``code`` in the kernel as a user's cell: (its stdout, its execution count)."""
        client = AsyncKernelClient()
        client.load_connection_info(
            {
                **{name: self.info[name] for name in protocol.PORT_NAMES},
                "ip": "127.0.0.1",
                "transport": "tcp",
                "key": self.km.session.key.decode(),
                "signature_scheme": self.km.session.signature_scheme,
            }
        )
        out: list[str] = []

        def hook(msg):
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))

        client.start_channels()
        try:
            await client.wait_for_ready(timeout=30)
            reply = await client.execute_interactive(code, output_hook=hook, timeout=30)
        finally:
            client.stop_channels()
        return "".join(out), reply["content"]["execution_count"]

    async def close(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
        await self.listener.close()
        assert await wait_until(lambda: not pid_alive(self.info["pid"]), timeout=10)
        assert not pids_mentioning(self.kernel_id)


async def launch(*options: str, pool: bool = True, env: dict[str, str] | None = None):
    kernel_id, auth_key = str(uuid.uuid4()), protocol.new_auth_key()
    km = KernelManager()
    listener = ResponseListener()
    waiter = listener.expect(kernel_id, auth_key)
    bundle = make_bundle(km, kernel_id, auth_key, "127.0.0.1", pool=pool)
    process = await start_launcher(listener, kernel_id, auth_key, *options, bundle=bundle, env=env)
    try:
        info = await asyncio.wait_for(waiter, 60)
    except BaseException:
        process.kill()
        await process.wait()
        await listener.close()
        raise
    return Launched(listener, process, info, kernel_id, auth_key, km)


@contextlib.asynccontextmanager
async def pool_kernel():
    launched = await launch()
    try:
        yield launched
    finally:
        await launched.close()


async def test_prepare_gives_a_pool_kernel_its_cwd_and_env_and_leaves_no_trace(tmp_path):
    folder = tmp_path / "user's folder ü"
    folder.mkdir()
    pooled, plain = await asyncio.gather(launch(), launch(pool=False))
    try:
        await pooled.link.prepare(str(folder), {"JRK_TEST_VALUE": "välue 1", "X": ""})
        out, count = await pooled.run(LOOK)
        names, cwd, env, threads = out.splitlines()
        assert (cwd, env, threads) == (str(folder), "välue 1 False", "[]")
        assert count == 1  # the user's first cell is In [1]
        # A plain kernel's first cell sees the same names: the hook left none behind.
        plain_out, plain_count = await plain.run(LOOK)
        assert plain_count == 1
        assert names == plain_out.splitlines()[0]
        assert not [n for n in json.loads(names.replace("'", '"')) if "jrk" in n.lower()]
        out, count = await pooled.run(
            "%who\nprint(len(get_ipython().history_manager.input_hist_raw))"
        )
        assert out.splitlines() == ["os\t threading\t ", "3"] and count == 2
        # the kernel's children get the values too (they are in os.environ)
        out, _ = await pooled.run("import subprocess\nprint(subprocess.run(['sh', '-c', "
                                  "'echo $JRK_TEST_VALUE; pwd'], capture_output=True, "
                                  "text=True).stdout)")  # fmt: skip
        assert out.splitlines()[:2] == ["välue 1", str(folder)]
    finally:
        await asyncio.gather(pooled.close(), plain.close())


async def test_prepare_without_cwd_sets_only_the_environment():
    async with pool_kernel() as kernel:
        before, _ = await kernel.run("import os; print(os.getcwd())")
        await kernel.link.prepare(None, {"JRK_TEST_VALUE": "only env"})
        out, count = await kernel.run(LOOK)
        assert out.splitlines()[1:3] == [before.strip(), "only env False"]
        assert count == 2


async def test_bad_args_and_a_bad_cwd_are_refused_clearly(tmp_path):
    async with pool_kernel() as kernel:
        comm = kernel.link.client
        for args, error in (
            ({"cwd": 5, "env": {}}, "cwd must be a folder path"),
            ({"cwd": None, "env": {"A": 1}}, "bad environment variable 'A'"),
            ({"cwd": None, "env": {"A=B": "x"}}, "bad environment variable 'A=B'"),
            ({"cwd": None, "env": {"A": "x\0y"}}, "bad environment variable 'A'"),
            ({"cwd": None, "env": ["A"]}, "env must map"),
            ({"cwd": None, "env": {}, "user": "root"}, "prepare takes args"),
            ({"cwd": None, "env": {"A": "x" * 40000}}, "more than the 32768 allowed"),
        ):
            reply = await comm.send("prepare", args=args)
            assert reply["ok"] is False and error in reply["error"], (args, reply)
        with pytest.raises(CommPortError) as caught:
            await kernel.link.prepare(str(tmp_path / "missing"), {"JRK_TEST_VALUE": "no"})
        message = str(caught.value)
        assert kernel.kernel_id in message
        assert "FileNotFoundError" in message and str(tmp_path / "missing") in message
        assert "start a fresh one (and check that the folder exists" in message
        out, _ = await kernel.run(LOOK)
        assert out.splitlines()[2] == "None False"  # nothing applied
        # A kernel takes one prepare; the kernel itself is fine.
        with pytest.raises(CommPortError, match="prepared once already"):
            await kernel.link.prepare(str(tmp_path), {})
        assert (await comm.send("ping"))["alive"] is True


async def test_prepare_times_out_on_a_kernel_that_does_not_answer(tmp_path):
    async with pool_kernel() as kernel:
        os.kill(kernel.info["pid"], signal.SIGSTOP)
        try:
            with pytest.raises(CommPortError, match=r"did not confirm within 3 s"):
                await kernel.link.prepare(str(tmp_path), {})
        finally:
            os.kill(kernel.info["pid"], signal.SIGCONT)
        assert (await kernel.link.client.send("ping"))["alive"] is True


async def test_prepare_is_refused_on_a_launch_not_for_a_pool(tmp_path):
    plain = await launch(pool=False)
    try:
        with pytest.raises(CommPortError, match="was not launched for a warm pool") as caught:
            await plain.link.prepare(str(tmp_path), {"JRK_TEST_VALUE": "x"})
        assert plain.kernel_id in str(caught.value)
        out, _ = await plain.run(LOOK)
        assert out.splitlines()[2] == "None False"
        assert (await plain.link.client.send("ping"))["alive"] is True  # old commands work
    finally:
        await plain.close()


async def send_raw(port: int, kernel_id: str, auth_key: str, args, mac_over) -> dict:
    """Send ``prepare`` with ``args`` but a MAC over ``mac_over``: the launcher's reply."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        challenge = json.loads(await reader.readline())["challenge"]
        request = {"cmd": "prepare", "signum": None, "kernel_id": kernel_id}
        mac = protocol.mac(auth_key, protocol.COMM_PROTOCOL, challenge, dict(request, **mac_over))
        writer.write(protocol.line(dict(request, args=args, mac=mac)))
        await writer.drain()
        return json.loads(await reader.readline())
    finally:
        writer.close()


async def test_prepare_needs_a_mac_over_its_args(tmp_path):
    async with pool_kernel() as kernel:
        port, kernel_id = kernel.info["comm_port"], kernel.kernel_id
        wrong = CommClient("127.0.0.1", port, kernel_id, protocol.new_auth_key())
        with pytest.raises(CommPortError, match="unauthenticated"):
            await LauncherLink(wrong).prepare(str(tmp_path), {"JRK_TEST_VALUE": "forged"})
        # A MAC over other args (or none) does not carry these.
        args = {"cwd": str(tmp_path), "env": {"JRK_TEST_VALUE": "forged"}}
        for mac_over in ({}, {"args": {"cwd": None, "env": {}}}):
            reply = await send_raw(port, kernel_id, kernel.auth_key, args, mac_over)
            assert reply == {"ok": False, "error": "unauthenticated"}
        # The server's own, authenticated prepare is the one that counts.
        reply = await send_raw(port, kernel_id, kernel.auth_key, args, {"args": args})
        assert reply["ok"] is True
        out, _ = await kernel.run(LOOK)
        assert out.splitlines()[1:3] == [str(tmp_path), "forged False"]


async def test_a_pool_kernel_with_an_eager_spark_start_gets_both(tmp_path):
    """The hook and the Spark lines share IPython's one exec_lines list."""
    fake = fake_pyspark(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(fake))
    launched = await launch("--spark-context-initialization-mode", "eager", env=env)
    try:
        await launched.link.prepare(str(tmp_path), {"JRK_TEST_VALUE": "spark"})
        out, count = await launched.run(LOOK + "print(sc)")
        assert out.splitlines()[1:] == [str(tmp_path), "spark False", "[]", "fake-context"]
        assert count == 1
    finally:
        await launched.close()


def test_make_bundle_marks_only_pool_launches():
    km = KernelManager()
    assert "pool" not in make_bundle(km, "k", "ab", "127.0.0.1")
    assert make_bundle(km, "k", "ab", "127.0.0.1", pool=True)["pool"] is True
