"""The launchers' own code, loaded from their files as the hosts run them (standard library).

The Python launcher carries its own copy of the protocol (it imports nothing of the
package): the copy must agree with ``jupyter_remote_kernels/launch/protocol.py``.
"""

from __future__ import annotations

import importlib.util
import os
import secrets

import pytest

from jupyter_remote_kernels._paths import launcher_path
from jupyter_remote_kernels.launch import protocol


def load(language: str, name: str):
    path = launcher_path(language, name)
    spec = importlib.util.spec_from_file_location(f"jrk_test_{language}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def launcher():
    return load("python", "launch_ipykernel.py")


def test_the_launchers_protocol_copy_agrees(launcher):
    for name in ("CALLBACK_PROTOCOL", "COMM_PROTOCOL", "MAX_LINE", "PORT_NAMES"):
        assert getattr(launcher, name) == getattr(protocol, name), name
    key, challenge = secrets.token_hex(32), secrets.token_hex(16)
    obj = {"b": [1, "ü"], "a": {"z": None, "y": 2.5}}
    assert launcher.canonical(obj) == protocol.canonical(obj)
    for label in (protocol.ACCEPTED_LABEL, protocol.COMM_REPLY_LABEL, "x"):
        assert launcher.mac(key, label, challenge) == protocol.mac(key, label, challenge)
        assert launcher.mac(key, label, challenge, obj) == protocol.mac(key, label, challenge, obj)


@pytest.fixture(scope="module")
def agent():
    return load("ssh", "agent.py")


def test_agent_frames_round_trip(agent):
    data = agent.frame(b"S", 3, b'["a"]') + agent.frame(b"D", 3, b"x\ny") + agent.frame(b"C", 3)
    frames, rest = agent.parse_frames(data + b"D 4 10\nabc")
    assert frames == [(b"S", 3, b'["a"]'), (b"D", 3, b"x\ny"), (b"C", 3, b"")]
    assert rest == b"D 4 10\nabc"  # an incomplete frame waits for more
    assert agent.frame(b"E", 7, size=-15) == b"E 7 -15\n"


def test_agent_runs_a_stream_and_reports_its_exit(agent, tmp_path):
    """One stream through a real fork: its output, then its exit code."""
    stage0 = "import sys; sys.stdout.write(sys.stdin.read().upper()); sys.exit(int(sys.argv[1]))"
    runner = agent.Agent(stage0)
    sent = []
    agent_write_all = agent.write_all
    agent.write_all = lambda fd, data: sent.append(data) if fd == 1 else agent_write_all(fd, data)
    try:
        runner.command(b"S", 1, b'["5"]')
        runner.command(b"D", 1, b"hello")
        runner.command(b"C", 1, b"")
        while runner.by_fd:
            for fd in list(runner.by_fd):
                runner.output(fd)
    finally:
        agent.write_all = agent_write_all
    frames, rest = agent.parse_frames(b"".join(s for s in sent if not s.startswith(b"E")))
    assert b"".join(p for _, _, p in frames) == b"HELLO" and not rest
    assert sent[-1] == b"E 1 5\n"


def test_bootstrap_reads_exactly_what_is_asked(tmp_path):
    bootstrap = load("ssh", "bootstrap.py")
    read, write = os.pipe()
    os.write(write, b'{"n": 3}\nabcBUNDLE\nrest')
    os.close(write)
    reader = bootstrap.StdinReader(read)
    assert reader.line() == b'{"n": 3}\n'
    assert reader.exact(3) == b"abc"
    assert reader.line() == b"BUNDLE\n"
    assert reader.buffer == b"rest"
    with pytest.raises(EOFError):
        reader.exact(10)
    os.close(read)
    assert bootstrap.missing_modules(["json", "no_such_module_jrk"]) == ["no_such_module_jrk"]
