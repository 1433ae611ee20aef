"""One helper process per SSH host that forks the launch bootstraps, so a launch costs no SSH exec.

An SSH exec runs the user's login shell first (its rc files: on the test hosts `pyenv init`
takes ~0.2 s of CPU) and then starts Python: most of an ssh kernel's extra start time, and
CPU that concurrent starts fight for. The agent is started once per host (and Python) over
one session of a pooled connection, with the same stage 0 as a launch. Each launch then
opens a *stream* on it: the agent forks a child that execs the command line a one-off SSH
session would run (stage 0, then :func:`~.remote.bootstrap_code` from stdin; the same argv
but for ``-S``, so ``ps`` on the host tells launchers apart), with the stream as its
stdin/stdout. That costs a Python start without ``site`` (the agent hands its ``sys.path``
over), but no SSH session and no login shell. So detach,
abort, exit reports and "an abandoned launch leaves nothing" work as before: when the
agent's channel closes (server stopped, connection lost), every attached bootstrap sees EOF
on its stdin and stops its launcher.

Frames, both directions, are ``KIND ID N\\n`` + N bytes. Server to agent: ``S`` start (JSON
argv), ``D`` stdin data, ``C`` close stdin. Agent to server: ``R`` ready, ``O`` stdout data,
``E`` the bootstrap exited (N is its exit code, no payload).
"""

from __future__ import annotations

import functools
import itertools
import json
import shlex
import socket
import threading
import time
from typing import Any, Callable, Optional

from ..paths import launcher_path
from .pool import SSHHostError, SSHPool, SSHTarget, close_quietly, exec_command
from .remote import stage0

__all__ = ["AgentRegistry", "AgentStream", "SSHAgent"]


@functools.cache
def _agent_code() -> bytes:
    code = launcher_path("ssh", "agent.py").read_text()
    return (code + f"\nmain({stage0()!r})\n").encode()


def _agent_stage0(code: bytes) -> str:
    return (
        "import os\nb=b''\n"
        f"while len(b)<{len(code)}:b+=os.read(0,{len(code)}-len(b)) or os._exit(9)\n"
        "exec(compile(b,'jrk-agent','exec'))"
    )


class AgentStream:
    """One launch on an agent; offers the part of a paramiko channel RemoteLaunch uses."""

    def __init__(self, agent: SSHAgent, stream_id: int) -> None:
        self.agent = agent
        self.id = stream_id
        self.status_event = threading.Event()
        self.exit_status = -1
        self._data = b""
        self._eof = False
        self._closed = False
        self._timeout: Optional[float] = None
        self._cond = threading.Condition()

    @property
    def closed(self) -> bool:
        return self._closed

    def settimeout(self, timeout: Optional[float]) -> None:
        self._timeout = timeout

    def exec_command(self, command: str) -> None:  # the agent already runs
        pass

    def sendall(self, data: bytes) -> None:
        if self._eof or self._closed:
            raise OSError("the launch stream has ended")
        self.agent.send(b"D", self.id, data)

    def recv(self, size: int) -> bytes:
        with self._cond:
            if not self._data and not self._eof:
                self._cond.wait(self._timeout)
            if not self._data and not self._eof:
                raise socket.timeout()
            data, self._data = self._data[:size], self._data[size:]
            return data

    def recv_stderr_ready(self) -> bool:
        return False

    def recv_stderr(self, size: int) -> bytes:
        return b""

    def feed(self, data: bytes) -> None:
        with self._cond:
            self._data += data
            self._cond.notify_all()

    def end(self, code: int) -> None:
        with self._cond:
            self._eof = True
            self.exit_status = code
            self._cond.notify_all()
        self.status_event.set()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._eof:
            try:
                self.agent.send(b"C", self.id, b"")
            except OSError:
                pass
        self.agent.forget(self.id)


class SSHAgent:
    """The agent on one host for one Python, on one session of a pooled connection."""

    def __init__(
        self,
        pool: SSHPool,
        target: SSHTarget,
        python: str,
        on_gone: Optional[Callable[[SSHAgent], None]] = None,
    ) -> None:
        self.pool, self.target, self.python = pool, target, python
        self._on_gone = on_gone
        self._conn: Any = None
        self._channel: Any = None
        self._streams: dict[int, AgentStream] = {}
        self._ids = itertools.count(1)
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self.alive = False

    def start(self, timeout: float) -> None:
        """Start the agent and wait until it answers; SSHHostError if it cannot run."""
        deadline = time.monotonic() + timeout
        self._conn, self._channel = self.pool.open_session(self.target, timeout)
        code = _agent_code()
        channel = self._channel
        try:
            channel.settimeout(0.2)
            command = "exec " + " ".join(
                shlex.quote(w) for w in (self.python, "-c", _agent_stage0(code))
            )
            exec_command(channel, command, deadline - time.monotonic(), self.target.host)
            channel.sendall(code)
            ready = b""
            while not ready.startswith(b"R 0 0\n"):
                if time.monotonic() > deadline or channel.exit_status_ready():
                    msg = f"the launch agent did not start on {self.target.host}"
                    raise SSHHostError(msg)
                try:
                    data = channel.recv(64)
                except socket.timeout:
                    continue
                if not data:
                    msg = f"the launch agent on {self.target.host} exited at once"
                    raise SSHHostError(msg)
                ready += data
        except Exception:
            self._shutdown()
            raise
        self.alive = True
        threading.Thread(
            target=self._read, args=(ready[6:],), daemon=True, name=f"jrk-agent-{self.target.host}"
        ).start()

    def open(self, argv: list[str]) -> AgentStream:
        """A new launch: the agent forks a bootstrap with ``argv`` (launcher, args...)."""
        stream = AgentStream(self, next(self._ids))
        with self._lock:
            if not self.alive:
                msg = f"the launch agent on {self.target.host} has gone"
                raise SSHHostError(msg)
            self._streams[stream.id] = stream
        try:
            self.send(b"S", stream.id, json.dumps(argv).encode())
        except OSError as exc:
            self.forget(stream.id)
            msg = f"the launch agent on {self.target.host} has gone: {exc}"
            raise SSHHostError(msg) from exc
        return stream

    def send(self, kind: bytes, stream_id: int, data: bytes) -> None:
        with self._send_lock:
            channel = self._channel
            if channel is None or channel.closed:
                raise OSError("agent channel closed")
            channel.sendall(b"%s %d %d\n" % (kind, stream_id, len(data)) + data)

    def forget(self, stream_id: int) -> None:
        with self._lock:
            self._streams.pop(stream_id, None)

    def _read(self, buffered: bytes) -> None:
        channel, buf = self._channel, buffered
        try:
            while True:
                while b"\n" in buf:
                    nl = buf.index(b"\n")
                    kind, sid, n = buf[:nl].split()
                    stream_id, size = int(sid), int(n)
                    if kind == b"O" and len(buf) < nl + 1 + size:
                        break
                    payload = buf[nl + 1 : nl + 1 + size] if kind == b"O" else b""
                    buf = buf[nl + 1 + len(payload) :]
                    with self._lock:
                        stream = self._streams.get(stream_id)
                    if stream is not None and kind == b"O":
                        stream.feed(payload)
                    elif stream is not None and kind == b"E":
                        stream.end(size)
                while channel.recv_stderr_ready():  # drained so the window never fills
                    channel.recv_stderr(65536)
                try:
                    data = channel.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    return
                buf += data
        except (OSError, ValueError):
            return
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        with self._lock:
            self.alive = False
            streams, self._streams = list(self._streams.values()), {}
            channel, self._channel = self._channel, None
            conn, self._conn = self._conn, None
        for stream in streams:
            stream.end(-1)
        if channel is not None:
            close_quietly(channel)
        if conn is not None:
            self.pool.release(self.target, conn)
        if self._on_gone is not None:
            self._on_gone(self)


class AgentRegistry:
    """The running agents of one server, by host and Python; made on first use."""

    def __init__(self, pool: SSHPool) -> None:
        self.pool = pool
        self._agents: dict[tuple[SSHTarget, str], SSHAgent] = {}
        self._locks: dict[tuple[SSHTarget, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def drop(self, agent: SSHAgent) -> None:
        """Forget an agent that has gone (called by the agent)."""
        key = (agent.target, agent.python)
        with self._lock:
            if self._agents.get(key) is agent:
                del self._agents[key]

    def agent_for(self, target: SSHTarget, python: str, timeout: float) -> SSHAgent:
        """The running agent for ``target`` and ``python``, started on first use (blocking)."""
        key = (target, python)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        if not lock.acquire(timeout=max(0.1, timeout)):
            msg = f"{target.host}: the launch agent did not start within {timeout:.0f} s"
            raise SSHHostError(msg)
        try:
            with self._lock:
                agent = self._agents.get(key)
            if agent is not None and agent.alive:
                return agent
            agent = SSHAgent(self.pool, target, python, on_gone=self.drop)
            agent.start(timeout)
            with self._lock:
                self._agents[key] = agent
            return agent
        finally:
            lock.release()
