"""The launchers' own code, loaded from their files as the hosts run them (standard library).

The Python launcher carries its own copy of the protocol (it imports nothing of the
package): the copy must agree with ``jupyter_remote_kernels/launch/protocol.py``. It is
several files (:func:`launcher_files`) that every delivery must carry together.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time

import pytest

from jupyter_remote_kernels.launch import protocol
from jupyter_remote_kernels.paths import launcher_files, launcher_path
from jupyter_remote_kernels.ssh.remote import (
    SENT_LAUNCHER,
    launcher_payload,
    remote_input,
    stage0,
)


def load(language: str, name: str):
    path = launcher_path(language, name)
    spec = importlib.util.spec_from_file_location(f"jrk_test_{language}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def launcher_comm():
    return load("python", "jrk_launcher_comm.py")


def test_the_launchers_protocol_copy_agrees(launcher_comm):
    for name in ("CALLBACK_PROTOCOL", "COMM_PROTOCOL", "MAX_LINE", "PORT_NAMES", "COMM_COMMANDS"):
        assert getattr(launcher_comm, name) == getattr(protocol, name), name
    key, challenge = secrets.token_hex(32), secrets.token_hex(16)
    obj = {"b": [1, "ü"], "a": {"z": None, "y": 2.5}}
    assert launcher_comm.canonical(obj) == protocol.canonical(obj)
    for label in (protocol.ACCEPTED_LABEL, protocol.COMM_REPLY_LABEL, "x"):
        assert launcher_comm.mac(key, label, challenge) == protocol.mac(key, label, challenge)
        assert launcher_comm.mac(key, label, challenge, obj) == protocol.mac(
            key, label, challenge, obj
        )


class _BindsLate:
    """A kernel that starts listening 5 ms after the launcher's first look at it, and says
    so as ipykernel does (its "--existing" line sets ``done_with_connection_file``)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.done_with_connection_file = threading.Event()
        self.listening_at = None
        self._timer = None

    def alive(self):
        if self._timer is None:
            self._timer = threading.Timer(0.005, self._listen)
            self._timer.start()
        return True

    def _listen(self):
        self.sock.listen(5)
        self.listening_at = time.monotonic()
        self.done_with_connection_file.set()


def test_the_launcher_sees_the_kernel_listen_when_it_says_so_not_at_a_poll_tick(launcher_comm):
    """Issue 22: a start waited up to 50 ms (25 on average) for the launcher's next poll of
    the kernel's ports. On the old code every delay here is >= 45 ms."""
    delays = []
    for _ in range(5):
        kernel = _BindsLate()
        try:
            assert launcher_comm.wait_listening(
                "127.0.0.1", {"shell_port": kernel.port}, kernel, time.monotonic() + 10
            )
            delays.append(time.monotonic() - kernel.listening_at)
        finally:
            kernel.sock.close()
    assert statistics.median(delays) < 0.03, delays


@pytest.fixture(scope="module")
def launcher_prepare():
    return load("python", "jrk_launcher_prepare.py")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (None, "prepare takes args"),
        ({"cwd": "/x", "env": {}, "uid": 0}, "prepare takes args"),
        ({"cwd": 1}, "cwd must be a folder path"),
        ({"cwd": "/x\0y"}, "cwd must be a folder path"),
        ({"env": "A=1"}, "env must map"),
        ({"env": {"": "1"}}, "bad environment variable ''"),
        ({"env": {"A=B": "1"}}, "bad environment variable 'A=B'"),
        ({"env": {"A": None}}, "bad environment variable 'A'"),
        ({"env": {"A": "\ud800"}}, "valid Unicode text"),
        ({"env": {"A": "é" * 16384}}, "more than the 32768 allowed"),
    ],
)
def test_prepare_args_are_checked(launcher_prepare, args, error):
    assert error in launcher_prepare.bad_prepare_args(args)


def test_prepare_args_that_pass(launcher_prepare):
    for args in ({}, {"cwd": None, "env": {}}, {"cwd": "/tmp", "env": {"A": "", "B_1": "ü"}}):
        assert launcher_prepare.bad_prepare_args(args) is None


def test_the_prepare_hook_in_a_process_of_its_own(launcher_prepare, tmp_path):
    """Its exec_lines entry binds nothing in the namespace it runs in (the user's), takes its
    variable out of the environment and applies one request (plain Python, not IPython: the
    kernel's side is tests/local/test_pool_prepare.py)."""
    hook = launcher_prepare.PrepareHook()
    code = (
        "import os, sys, time\n"
        "ns = {}\n"
        f"exec(compile({hook.exec_line()!r}, '<exec_lines>', 'exec'), ns)\n"
        "print(sorted(ns), os.environ.get('JRK_PREPARE_FDS'), flush=True)\n"
        "time.sleep(60)\n"
    )
    env = dict(os.environ, **hook.env)
    with subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, pass_fds=hook.kernel_fds
    ) as child:
        try:
            assert child.stdout.readline() == b"['__builtins__'] None\n"
            assert hook.wait_ready(time.monotonic() + 10)
            assert hook.apply({"cwd": str(tmp_path), "env": {"A": "1"}}) is None
            assert os.readlink(f"/proc/{child.pid}/cwd") == str(tmp_path)
            assert "prepared once already" in hook.apply({"cwd": None, "env": {}})
        finally:
            child.kill()
            hook.close()


def test_launcher_files_are_all_the_launchers_modules_and_all_it_imports():
    """A file the launcher imports but a delivery would leave behind fails here."""
    files = launcher_files("python")
    assert files[0].name == "launch_ipykernel.py"  # EG's name: migrate and EG specs use it
    assert {p.name for p in files} == {p.name for p in files[0].parent.glob("*.py")}
    siblings = {p.stem for p in files[1:]}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in siblings, (path.name, name)
    with pytest.raises(ValueError, match="no launcher for language 'r'"):
        launcher_files("r")


def run_sent_launcher(tmp_path, files, script):
    """The SSH delivery as a host runs it (stage 0, bootstrap, sent files), with a bad bundle,
    in an empty folder and without PYTHONPATH: the bootstrap's last report."""
    header = {"files": files, "env": {}, "cwd": None, "modules": []}
    stdin = remote_input(protocol.line(header), script, b"not a bundle\n")
    argv = [sys.executable, "-c", stage0(), SENT_LAUNCHER, "--kernel-id", "k1",
            "--response-address", "127.0.0.1:9"]  # fmt: skip
    env = {"PATH": os.environ["PATH"], "TMPDIR": str(tmp_path)}
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=tmp_path,
                          env=env) as proc:  # fmt: skip
        proc.stdin.write(stdin)
        proc.stdin.flush()  # and kept open: EOF would abort the launch
        reports = []
        for line in proc.stdout:
            reports.append(json.loads(line[4:]) if line.startswith(b"JRK ") else None)
            if reports[-1] and "exit" in reports[-1]:
                break
        proc.stdin.close()
        proc.wait(10)
    assert reports and "pid" in reports[0], reports
    return reports[-1]


def test_the_sent_launcher_imports_its_siblings_from_memory(tmp_path):
    """Over SSH the siblings travel with the entry point; nothing is written for them."""
    files, script = launcher_payload("python")
    assert [name for name, _ in files] == [p.name for p in launcher_files("python")]
    done = run_sent_launcher(tmp_path, files, script)
    # It got past its imports to reading the bundle, and left no file.
    assert done["exit"] == 2 and "no valid launch bundle on standard input" in done["tail"]
    assert list(tmp_path.iterdir()) == []
    main_size = files[0][1]
    done = run_sent_launcher(tmp_path, files[:1], script[:main_size])
    assert done["exit"] == 2
    assert "cannot import its sibling module jrk_launcher_comm.py" in done["tail"]


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
    os.write(write, b'{"files": [["a.py", 3]]}\nabcBUNDLE\nrest')
    os.close(write)
    reader = bootstrap.StdinReader(read)
    assert reader.line() == b'{"files": [["a.py", 3]]}\n'
    assert reader.exact(3) == b"abc"
    assert reader.line() == b"BUNDLE\n"
    assert reader.buffer == b"rest"
    with pytest.raises(EOFError):
        reader.exact(10)
    os.close(read)
    assert bootstrap.missing_modules(["json", "no_such_module_jrk"]) == ["no_such_module_jrk"]
