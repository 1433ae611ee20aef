"""Processes and network namespaces for the SSH test bed: commands with timeouts, /proc
lookups (start times guard against PID reuse), bounded SIGKILL, ``ip netns`` helpers."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Optional

PREFIX = "jrk-"
ENV_MARK = "JRK_SSHBED_HOST"


class SSHTestBedError(RuntimeError):
    """Setting up, driving or tearing down the SSH test bed failed."""




def run_cmd(argv: list[str], *, timeout: float = 15, check: bool = True, **kw):
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              check=False, **kw)
    except subprocess.TimeoutExpired as exc:
        raise SSHTestBedError(f"{' '.join(argv)!r} did not finish within {timeout}s") from exc
    if check and proc.returncode != 0:
        raise SSHTestBedError(
            f"{' '.join(argv)!r} failed with exit code {proc.returncode}: "
            f"{(proc.stderr or proc.stdout).strip()}"
        )
    return proc


def start_time(pid: int) -> Optional[str]:
    """The kernel start time of `pid` (guards against PID reuse), None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def alive(pid: int, start: Optional[str] = None) -> bool:
    now = start_time(pid)
    return now is not None and (start is None or now == start)


def cmdline(pid: int) -> Optional[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def marked_pids(mark_prefix: str) -> set[int]:
    """PIDs whose environment carries ENV_MARK=<value starting with mark_prefix>."""
    needle = f"{ENV_MARK}={mark_prefix}".encode()
    found = set()
    for pid in _all_pids():
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if any(item.startswith(needle) for item in env.split(b"\0")):
            found.add(pid)
    return found


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid in _all_pids():
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(pid)
    out, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def kill_pids(pids, timeout: float = 5.0) -> None:
    """SIGKILL ``pids`` and wait (bounded) until each is gone or a zombie."""
    pids = set(pids)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_running(pid) for pid in pids):
        time.sleep(0.01)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def netns_pids(ns: str) -> set[int]:
    proc = run_cmd(["ip", "netns", "pids", ns], check=False, timeout=10)
    return {int(x) for x in proc.stdout.split() if x.isdigit()}


def kill_netns(ns: str, timeout: float = 5.0) -> None:
    """SIGKILL everything in namespace `ns` until it is empty (processes may fork meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        pids = netns_pids(ns) - {os.getpid()}
        if not pids:
            return
        if time.monotonic() > deadline:
            raise SSHTestBedError(f"processes {sorted(pids)} in netns {ns} survived SIGKILL")
        kill_pids(pids)
        time.sleep(0.02)


def netns_available() -> bool:
    if getattr(netns_available, "cached", None) is None:
        ok = os.geteuid() == 0 and all(shutil.which(t) for t in ("ip", "unshare", "nsenter"))
        if ok:
            probe = f"{PREFIX}probe{os.getpid()}"
            ok = run_cmd(["ip", "netns", "add", probe], check=False).returncode == 0
            run_cmd(["ip", "netns", "del", probe], check=False)
        netns_available.cached = ok
    return netns_available.cached


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


