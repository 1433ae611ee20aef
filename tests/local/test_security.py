"""Spoofed callbacks, unauthenticated comm-port messages, and secrets kept out of argv and logs."""

from __future__ import annotations

import json
import logging
import socket
import sys
from pathlib import Path

import pytest

from ..kernels import (
    LAUNCHER,
    KernelSession,
    launcher_argv,
    local_spec,
    pids_mentioning,
    wait_until,
    write_kernelspec,
)
from ..secret_search import files_containing, launch_secrets, secrets_in_argv

MITM = str(Path(__file__).resolve().parents[1] / "mitm_launch.py")


async def start(jp_fetch, name):
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": name}))
    return json.loads(response.body)


async def test_spoofed_callbacks_rejected_real_launch_succeeds(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, tmp_path, jp_serverapp
):
    report = tmp_path / "mitm.json"
    write_kernelspec(
        jp_kernel_dir,
        "mitm",
        {
            "argv": [
                sys.executable,
                MITM,
                str(report),
                "{response_address}",
                "--",
                sys.executable,
                LAUNCHER,
                "--kernel-id",
                "{kernel_id}",
                "--response-address",
                "@RELAY@",
            ],
            "metadata": {"process_proxy": {"class_name": "local"}},
        },
    )
    listener = jp_serverapp.kernel_manager.response_listener
    rejected_before = listener.rejected
    model = await start(jp_fetch, "mitm")
    assert model["placement"]["phase"] == "ready"
    results = json.loads(report.read_text())
    assert json.loads(results["genuine"])["status"] == "accepted"
    attacks = (
        "unknown_kernel",
        "wrong_mac",
        "garbage",
        "garbage_hello",
        "junk_1mb",
        "junk_1mb_hello",
        "replay",
    )
    for attack in attacks:
        assert "accepted" not in results[attack], (attack, results[attack])
    # unknown id, wrong MAC, garbage, junk, replay; the idle slow-loris one is still open
    assert listener.rejected - rejected_before >= len(attacks)
    session = await KernelSession.open(jp_ws_fetch, model["id"])
    assert (await session.execute("print(1 + 1)"))["stdout"] == "2\n"
    session.close()
    await jp_fetch("api", "kernels", model["id"], method="DELETE")
    assert await wait_until(lambda: not pids_mentioning(model["id"]))


def comm_exchange(host: str, port: int, message: bytes) -> dict:
    with socket.create_connection((host, port), timeout=10) as sock:
        f = sock.makefile("rb")
        hello = json.loads(f.readline())
        assert hello["protocol"] == "jrk-comm/1"
        sock.sendall(message)
        return json.loads(f.readline() or b"{}")


async def test_unauthenticated_comm_port_messages_do_nothing(
    jp_fetch, jp_ws_fetch, kernels_dir, jp_serverapp
):
    model = await start(jp_fetch, "remote-python")
    kernel_id, pid = model["id"], model["placement"]["pid"]
    km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    info = await km.provisioner.get_provisioner_info()
    host, port = info["comm"]["host"], info["comm"]["port"]
    attacks = [
        {"cmd": "kill", "kernel_id": kernel_id},
        {"cmd": "kill", "signum": None, "kernel_id": kernel_id, "mac": "00" * 32},
        {"cmd": "signal", "signum": 9, "kernel_id": kernel_id, "mac": "not hex"},
        {"cmd": "shutdown", "kernel_id": "someone-else", "mac": "11" * 32},
    ]
    for attack in attacks:
        reply = comm_exchange(host, port, json.dumps(attack).encode() + b"\n")
        assert reply == {"ok": False, "error": "unauthenticated"}
    reply = comm_exchange(host, port, b"\x00garbage\n")
    assert reply["ok"] is False
    assert Path(f"/proc/{pid}").exists()
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("print('still here')"))["stdout"] == "still here\n"
    session.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_remote_kernels": True},
            "log_level": "DEBUG",
        },
    }


async def test_secrets_in_no_argv_log_or_leftover_file(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, jp_serverapp, jp_runtime_dir, caplog, capfd, own_tmpdir
):
    """Both launches' secrets (start, then restart) in no argv, log line or leftover file."""
    caplog.set_level(logging.DEBUG)
    write_kernelspec(
        jp_kernel_dir,
        "debuggy",
        local_spec(launcher_argv("--log-level", "DEBUG")),
    )
    model = await start(jp_fetch, "debuggy")
    kernel_id = model["id"]
    km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    first = await launch_secrets(km)
    assert pids_mentioning(kernel_id)  # the launch's processes are there to look at
    assert secrets_in_argv(first) == []
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    await session.execute("print('work')")
    await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
    await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
    session.close()
    # The restart is a new launch with a new launch secret: look for that one too.
    second = await launch_secrets(km)
    assert second["launch secret"] != first["launch secret"]
    secrets = {
        **{f"first {k}": v for k, v in first.items()},
        **{f"restart's {k}": v for k, v in second.items()},
    }
    assert pids_mentioning(kernel_id)
    assert secrets_in_argv(secrets) == []
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert await wait_until(lambda: not pids_mentioning(kernel_id))
    out, err = capfd.readouterr()
    logs = caplog.text + out + err
    assert "[launcher DEBUG]" in logs  # the launcher logged at DEBUG, and...
    assert "Kernel args" in logs  # ...so did the server
    assert [name for name, value in secrets.items() if value.decode() in logs] == []
    roots = [Path(jp_runtime_dir), own_tmpdir]
    assert files_containing(secrets, roots) == []
