"""SSH connections of the ssh provisioner: pooled per host, driven from worker threads.

paramiko is blocking, so nothing here may run on the event loop: the provisioner calls these
methods through :meth:`SSHConnections.call <.connections.SSHConnections.call>`, which uses
worker threads of its own (the default executor has only a few workers on a small machine
and is shared with Jupyter Server).

One :class:`SSHPool` serves the whole server (a service of the kernel manager). It keeps
connections per host (``user@host:port`` and how it is reached) and opens at most
``target.max_channels`` channels on one connection at a time (sshd's ``MaxSessions``
defaults to 10), adding a connection when they are all busy and closing extra ones again
once idle. A connection that died (host
down, sshd restarted) is dropped and made again on the next use.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional

import paramiko

from ..errors import RemoteKernelError

__all__ = ["SSHHostError", "SSHPool", "SSHTarget", "close_quietly", "exec_command", "parse_host"]

#: A connect that failed this recently is not tried again by threads that waited for it.
_FAILURE_MEMORY = 2.0


class SSHHostError(RemoteKernelError):
    """One host could not be used; the message says why and what to do."""

    http_status = 503


@dataclass(frozen=True)
class SSHTarget:
    """A host as the provisioner reaches it."""

    host: str
    port: int = 22
    user: str = ""
    key_file: str = ""
    known_hosts: str = "~/.ssh/known_hosts"
    reject_unknown: bool = True
    allow_agent: bool = True
    connect_timeout: float = 10.0
    proxy: Optional[SSHTarget] = None
    #: Channels opened on one connection at a time (sshd's MaxSessions defaults to 10).
    max_channels: int = 8

    @property
    def label(self) -> str:
        """``user@host:port`` (the key of the pool and of the per-host kernel count)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        via = f" via {self.proxy.label}" if self.proxy else ""
        return f"{self.user}@{host}:{self.port}{via}"

    @property
    def known_hosts_path(self) -> str:
        return os.path.expanduser(self.known_hosts)


def parse_host(spec: str) -> tuple[str, str, Optional[int]]:
    """``[user@]host[:port]`` (IPv6 as ``[addr]:port``) -> (user or "", host, port or None)."""
    user, _, rest = spec.strip().rpartition("@")
    port_text: Optional[str] = None
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":"):
            port_text = tail[1:]
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
    else:
        host = rest
    port = int(port_text) if port_text is not None and port_text.isdigit() else None
    bad_port = port_text is not None and (port is None or not 0 < port < 65536)
    if not host or bad_port:
        msg = f"bad host {spec!r}: use host, host:port, user@host or user@host:port"
        raise ValueError(msg)
    return user, host, port


def _describe(target: SSHTarget, exc: BaseException) -> str:
    """A readable reason, with the fix, for a failed connect to ``target``."""
    where = f"{target.host}:{target.port}"
    known = target.known_hosts_path
    if isinstance(exc, paramiko.BadHostKeyException):
        return (
            f"the host key of {where} does not match the one in {known} (a reinstalled host, "
            f"or someone in between). If the host was reinstalled, remove the old entry with "
            f"`ssh-keygen -R {target.host} -f {known}` and trust the new key"
        )
    if isinstance(exc, paramiko.AuthenticationException):
        key = target.key_file or "the SSH agent and ~/.ssh keys"
        return (
            f"user {target.user!r} was refused by {where} (tried {key}). Add the public key to "
            f"~{target.user}/.ssh/authorized_keys on the host, or set remote_user / "
            "ssh_key_file in the kernelspec's process_proxy.config"
        )
    if isinstance(exc, paramiko.SSHException) and "not found in known_hosts" in str(exc):
        port = f"-p {target.port} " if target.port != 22 else ""
        return (
            f"the host key of {where} is unknown (not in {known}); unknown hosts are refused. "
            f"Check its fingerprint, then trust it with `ssh-keyscan {port}{target.host} >> "
            f"{known}` (or set known_hosts_file / reject_unknown_host_keys=False)"
        )
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"no answer from {where} within {target.connect_timeout:.0f} s; is the host up?"
    if isinstance(exc, (paramiko.ssh_exception.NoValidConnectionsError, OSError)):
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return f"cannot connect to {where} ({reason}); check that the host is up and runs sshd"
    return f"SSH to {where} failed: {exc or type(exc).__name__}"


def exec_command(channel: Any, command: str, timeout: float, host: str) -> None:
    """``channel.exec_command(command)``, giving up after ``timeout`` seconds.

    paramiko's ``Channel.exec_command`` waits for the host's answer to the request with no
    timeout: a host that stops answering (overloaded, frozen, cut off without a reset)
    would hold the calling thread, and everything waiting on it, forever. The channel is
    closed when the time is up, which ends paramiko's wait; SSHHostError says so.
    """
    expired = threading.Event()

    def give_up() -> None:
        expired.set()
        close_quietly(channel)

    timer = threading.Timer(max(0.1, timeout), give_up)
    timer.daemon = True
    timer.start()
    try:
        channel.exec_command(command)
    except Exception as exc:
        if expired.is_set():
            msg = f"{host} did not answer an SSH command request within {timeout:.0f} s"
            raise SSHHostError(msg) from exc
        raise
    finally:
        timer.cancel()


def close_quietly(channel: Any) -> None:
    """Close a channel whose connection may be gone (paramiko then raises EOFError)."""
    try:
        channel.close()
    except (EOFError, OSError, paramiko.SSHException):
        pass


class _Connection:
    def __init__(self, client: paramiko.SSHClient) -> None:
        self.client = client
        self.channels = 0
        self.idle_since = time.monotonic()

    @property
    def transport(self) -> Optional[paramiko.Transport]:
        return self.client.get_transport()

    def alive(self) -> bool:
        transport = self.transport
        return transport is not None and transport.is_active()


class SSHPool:
    """Pooled SSH connections by target. Every method blocks: call it in a worker thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._host_locks: dict[SSHTarget, threading.Lock] = {}
        self._connections: dict[SSHTarget, list[_Connection]] = {}
        self._failures: dict[SSHTarget, tuple[float, str]] = {}

    # -- connections ----------------------------------------------------------------------

    def _connect(self, target: SSHTarget, timeout: float) -> _Connection:
        client = paramiko.SSHClient()
        for path in ("/etc/ssh/ssh_known_hosts", target.known_hosts_path):
            if os.path.isfile(path):
                client.get_host_keys().load(path)
        policy = paramiko.RejectPolicy() if target.reject_unknown else paramiko.WarningPolicy()
        client.set_missing_host_key_policy(policy)
        timeout = max(0.5, min(timeout, target.connect_timeout))
        sock = None
        if target.proxy is not None:
            jump = self.acquire(target.proxy, timeout)
            try:
                assert jump.transport is not None
                sock = jump.transport.open_channel(
                    "direct-tcpip", (target.host, target.port), ("127.0.0.1", 0), timeout=timeout
                )
            except Exception as exc:
                msg = f"through the jump host {target.proxy.label}: {_describe(target, exc)}"
                raise SSHHostError(msg) from exc
            finally:
                self.release(target.proxy, jump)
        try:
            client.connect(
                target.host,
                port=target.port,
                username=target.user or None,
                key_filename=target.key_file or None,
                look_for_keys=not target.key_file,
                allow_agent=target.allow_agent,
                timeout=timeout,
                banner_timeout=timeout,
                auth_timeout=timeout,
                channel_timeout=timeout,
                sock=sock,
            )
        except Exception as exc:
            client.close()
            raise SSHHostError(_describe(target, exc)) from exc
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(30)
        return _Connection(client)

    def acquire(self, target: SSHTarget, timeout: float) -> _Connection:
        """A live connection to ``target`` with a free channel slot (reserved for the caller)."""
        with self._lock:
            host_lock = self._host_locks.setdefault(target, threading.Lock())
        asked = time.monotonic()
        if not host_lock.acquire(timeout=max(0.1, timeout)):
            msg = f"{target.host}:{target.port} is busy: no SSH connection within {timeout:.0f} s"
            raise SSHHostError(msg)
        try:
            with self._lock:
                conns = [c for c in self._connections.get(target, []) if c.alive()]
                for dead in set(self._connections.get(target, [])) - set(conns):
                    dead.client.close()
                self._connections[target] = conns
                for conn in conns:
                    if conn.channels < target.max_channels:
                        conn.channels += 1
                        return conn
                failed = self._failures.get(target)
            if failed and failed[0] >= asked - _FAILURE_MEMORY:
                raise SSHHostError(failed[1])
            try:
                conn = self._connect(target, timeout)
            except SSHHostError as exc:
                with self._lock:
                    self._failures[target] = (time.monotonic(), str(exc))
                raise
            with self._lock:
                self._failures.pop(target, None)
                conn.channels = 1
                self._connections.setdefault(target, []).append(conn)
            return conn
        finally:
            host_lock.release()

    def release(self, target: SSHTarget, conn: _Connection) -> None:
        """Give a channel slot back; an extra idle connection to the same host is closed."""
        close = False
        with self._lock:
            conn.channels = max(0, conn.channels - 1)
            if conn.channels == 0:
                conn.idle_since = time.monotonic()
                idle = [c for c in self._connections.get(target, []) if c.channels == 0]
                if len(idle) > 1 or not conn.alive():
                    close = True
                    self._connections[target] = [
                        c for c in self._connections.get(target, []) if c is not conn
                    ]
        if close:
            conn.client.close()

    def open_session(self, target: SSHTarget, timeout: float) -> tuple[_Connection, Any]:
        """A new session channel to ``target``; give it back with :meth:`release`."""
        conn = self.acquire(target, timeout)
        try:
            assert conn.transport is not None
            channel = conn.transport.open_session(timeout=max(0.5, timeout))
        except Exception as exc:
            self.release(target, conn)
            conn.client.close()
            msg = f"{target.host}:{target.port} did not open an SSH session: {exc}"
            raise SSHHostError(msg) from exc
        return conn, channel

    def run(self, target: SSHTarget, command: str, timeout: float, stdin: bytes = b"") -> tuple:
        """Run ``command`` on ``target``; returns (exit status or None, stdout, stderr)."""
        conn, channel = self.open_session(target, timeout)
        deadline = time.monotonic() + timeout
        out, err = b"", b""
        exited = float("inf")  # when the exit status arrived
        try:
            channel.settimeout(0.2)
            exec_command(channel, command, timeout, target.host)
            if stdin:
                channel.sendall(stdin)
            channel.shutdown_write()
            while time.monotonic() < deadline:
                if channel.recv_ready():
                    out += channel.recv(65536)
                elif channel.recv_stderr_ready():
                    err += channel.recv_stderr(65536)
                elif channel.exit_status_ready() and (
                    channel.eof_received or time.monotonic() > exited + 2.0
                ):
                    # sshd may send the exit status before the last output: done once the
                    # output's end arrived too (or, for a command whose background child keeps
                    # the output open, shortly after the exit status).
                    return (
                        channel.recv_exit_status(),
                        out.decode(errors="replace"),
                        (err.decode(errors="replace")),
                    )
                elif channel.exit_status_ready():
                    exited = min(exited, time.monotonic())
                    time.sleep(0.01)
                else:
                    channel.status_event.wait(0.05)
            return None, out.decode(errors="replace"), err.decode(errors="replace")
        finally:
            close_quietly(channel)
            self.release(target, conn)

    # -- inspection and shutdown ------------------------------------------------------------

    def connection_count(self, host: Optional[str] = None) -> int:
        """Open connections (to ``host`` only, when given); used by tests and benchmarks."""
        with self._lock:
            return sum(
                1
                for target, conns in self._connections.items()
                for conn in conns
                if conn.alive() and (host is None or target.host == host)
            )

    def close(self) -> None:
        """Close every connection (server stop)."""
        with self._lock:
            conns = [c for cs in self._connections.values() for c in cs]
            self._connections.clear()
            self._failures.clear()
        for conn in conns:
            conn.client.close()
