"""Starting a launcher over one SSH channel, so the host needs only Python and the kernel.

The remote command is ``exec PYTHON -c STAGE0 LAUNCHER ARGS...`` (:func:`stage0`), every
word shell-quoted; stage 0 only reads the bootstrap from stdin. Everything else goes over
the channel's stdin, never through argv or a shell:

0. the bootstrap (``launchers/ssh/bootstrap.py``);
1. one JSON header line: environment, working directory, modules to check, and ``files``, the
   name and length of each launcher file, entry point first (:func:`launcher_payload`);
2. those files, one after the other (when LAUNCHER is :data:`SENT_LAUNCHER`; else ``files`` is
   empty and LAUNCHER is a path on the host, with its sibling modules beside it);
3. the launch bundle line holding the per-kernel secrets.

The bootstrap checks the modules, then forks: the child starts a new session, gets the bundle
on a pipe as its stdin, its output in a private log file, and runs the launcher (its sent
sibling modules are imported from memory: nothing of the launcher is written on the host).
The parent stays on the channel and reports ``JRK {"pid": ...}``. While the launch goes on it
reports the launcher's exit (``JRK {"exit": code, "tail": ...}``) should it die. The server
sends ``detach`` once the kernel called back: the parent leaves and the launcher keeps running
with no tie to the SSH session. If the channel closes (or ``abort`` comes) before that, the
parent stops the launcher and its kernel: an abandoned launch leaves nothing on the host.
"""

from __future__ import annotations

import functools
import json
import shlex
import socket
import threading
import time
from typing import Any, Optional

from ..paths import launcher_files, launcher_path
from .pool import SSHHostError, SSHPool, SSHTarget, close_quietly, exec_command

__all__ = [
    "SENT_LAUNCHER",
    "RemoteLaunch",
    "bootstrap_code",
    "launcher_payload",
    "remote_command",
    "remote_input",
    "stage0",
]

#: What ``{launcher}`` becomes in an ssh kernelspec's argv: "the script comes over stdin".
SENT_LAUNCHER = "jrk-launcher-over-ssh"


@functools.cache
def bootstrap_code() -> bytes:
    """What stage 0 reads first: ``launchers/ssh/bootstrap.py`` and the call of its ``main``."""
    return (launcher_path("ssh", "bootstrap.py").read_text() + "\nmain()\n").encode()


@functools.cache
def stage0() -> str:
    """Stage 0, the only code in argv: reads the bootstrap (exactly, unbuffered) from stdin."""
    size = len(bootstrap_code())
    return (
        "import os\nb=b''\n"
        f"while len(b)<{size}:b+=os.read(0,{size}-len(b)) or os._exit(9)\n"
        "exec(compile(b,'jrk-bootstrap','exec'))"
    )


@functools.cache
def launcher_payload(language: str = "python") -> tuple[tuple[tuple[str, int], ...], bytes]:
    """The header's ``files`` (name, length of each launcher file, entry point first) and
    the bytes that follow the header: every file of :func:`launcher_files`, in that order."""
    paths = launcher_files(language)
    contents = [path.read_bytes() for path in paths]
    files = tuple((path.name, len(data)) for path, data in zip(paths, contents))
    return files, b"".join(contents)


def remote_command(python: str, launcher: str, args: list[str]) -> str:
    """The one command line sent to the host's shell; every word is shell-quoted.

    The bootstrap itself must come first on the channel's stdin (see :func:`remote_input`).
    """
    words = [python, "-c", stage0(), launcher, *args]
    return "exec " + " ".join(shlex.quote(word) for word in words)


def remote_input(header: bytes, script: bytes, bundle: bytes) -> bytes:
    """What the channel's stdin carries: bootstrap, header line, launcher files, bundle."""
    return bootstrap_code() + header + script + bundle


class RemoteLaunch:
    """One launcher start on one host. Every method blocks: call it in a worker thread.

    Made by :class:`~jupyter_remote_kernels.ssh.SSHProvisioner` per attempt;
    :meth:`start` returns once the launcher runs, :meth:`watch` follows it until
    :meth:`detach` (kernel ready) or :meth:`abort` (failed or cancelled launch).
    """

    def __init__(self, pool: SSHPool, target: SSHTarget) -> None:
        self.pool = pool
        self.target = target
        self.pid: Optional[int] = None
        self.exit_code: Optional[int] = None
        self.tail = ""
        self._conn: Any = None
        self._channel: Any = None
        self._buffer = b""
        self._stderr = b""
        self._closed = threading.Event()
        self._abandoned = threading.Event()
        self._lock = threading.Lock()

    def start(
        self,
        command: str,
        stdin: bytes,
        timeout: float,
        agent: Any = None,
        argv: Optional[list[str]] = None,
    ) -> int:
        """Run the bootstrap and send it its input; returns the launcher's pid on the host.

        With ``agent`` (:class:`~.agent.SSHAgent`) the host's agent starts the same
        stage 0 with ``argv`` (launcher, args); else ``command`` runs over a new SSH
        session. Raises :class:`SSHHostError` saying why this host cannot take the kernel.
        """
        deadline = time.monotonic() + timeout
        if agent is not None:
            self._conn, self._channel = None, agent.open(argv or [])
        else:
            self._conn, self._channel = self.pool.open_session(self.target, timeout)
        try:
            self._channel.settimeout(0.2)
            exec_command(self._channel, command, deadline - time.monotonic(), self.target.host)
            self._channel.sendall(stdin)
            while True:
                message = self._next_message(deadline)
                if message is None:
                    raise SSHHostError(self._failure(None))
                if "pid" in message:
                    self.pid = int(message["pid"])
                    break
                raise SSHHostError(self._failure(message))
        except SSHHostError:
            self.close()
            raise
        except Exception as exc:
            self.close()
            msg = f"the launch over SSH on {self.target.host} failed: {exc}"
            raise SSHHostError(msg) from exc
        if self._abandoned.is_set():
            self.abort()
            msg = "the launch was abandoned"
            raise SSHHostError(msg)
        return self.pid

    def _next_message(self, deadline: Optional[float]) -> Optional[dict[str, Any]]:
        """The next ``JRK {...}`` line of the bootstrap; None at EOF or the deadline."""
        channel = self._channel
        while True:
            while b"\n" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\n", 1)
                if raw.startswith(b"JRK "):
                    try:
                        return json.loads(raw[4:])
                    except ValueError:
                        continue
            if deadline is not None and time.monotonic() > deadline:
                return None
            if channel is None or channel.closed:
                return None
            try:
                data = channel.recv(65536)
            except socket.timeout:
                data = None
            except OSError:
                return None
            while channel.recv_stderr_ready() and len(self._stderr) < 65536:
                self._stderr += channel.recv_stderr(65536)
            if data == b"":
                return None
            if data:
                self._buffer += data

    def _failure(self, message: Optional[dict[str, Any]]) -> str:
        """Why the bootstrap did not start the launcher, with the fix."""
        host = self.target.host
        if message and message.get("error") == "missing":
            modules = ", ".join(message.get("modules", []))
            python = message.get("python", "python")
            return (
                f"{modules} missing for {python} on {host}; install it there "
                f"(`{python} -m pip install {modules}`) or point `python` in the kernelspec's "
                "process_proxy.config at a Python that has it"
            )
        if message and message.get("error") == "cwd":
            return f"cannot enter the working directory on {host}: {message.get('detail')}"
        status = None
        channel = self._channel
        if channel is not None and channel.status_event.wait(2.0):
            status = channel.exit_status
            while channel.recv_stderr_ready() and len(self._stderr) < 65536:
                self._stderr += channel.recv_stderr(65536)
        err = self._stderr.decode(errors="replace").strip()
        last = err.splitlines()[-1] if err else ""
        if status == 127 or "not found" in last:
            return (
                f"no Python on {host} ({last or 'command not found'}); install Python 3 with "
                "ipykernel there or set `python` in the kernelspec's process_proxy.config to "
                "its full path"
            )
        if status is None:
            return f"{host} did not start the launcher in time" + (f": {last}" if last else "")
        return f"the launcher bootstrap on {host} exited with code {status}" + (
            f": {last}" if last else ""
        )

    def watch(self) -> None:
        """Follow the bootstrap until it detaches or reports the launcher's exit."""
        while not self._closed.is_set():
            message = self._next_message(None)
            if message is None:
                return
            if "exit" in message:
                self.tail = str(message.get("tail", ""))
                self.exit_code = int(message["exit"]) if message["exit"] is not None else -9
                return
            if message.get("detached"):
                return

    def detach(self, timeout: float = 5.0) -> None:
        """Leave the launcher running on its own (the kernel called back)."""
        self._send(b"detach\n")
        self._wait_status(timeout)
        self.close()

    def abandon(self) -> None:
        """The launch was cancelled while :meth:`start` runs: abort once it returns."""
        self._abandoned.set()

    def abort(self, timeout: float = 8.0) -> None:
        """Stop the launcher and its kernel through the bootstrap, and wait for it."""
        self._send(b"abort\n")
        self._wait_status(timeout)
        self.close()

    def _send(self, data: bytes) -> None:
        channel = self._channel
        if channel is not None and not channel.closed:
            try:
                channel.sendall(data)
            except OSError:
                pass

    def _wait_status(self, timeout: float) -> None:
        channel = self._channel
        if channel is not None and not channel.closed:
            channel.status_event.wait(timeout)

    def close(self) -> None:
        """Close the channel and give its slot back to the pool (idempotent)."""
        with self._lock:
            channel, self._channel = self._channel, None
            conn, self._conn = self._conn, None
        self._closed.set()
        if channel is not None:
            close_quietly(channel)
        if conn is not None:
            self.pool.release(self.target, conn)
