"""Processes of the real Slurm test cluster, found through ``/proc``, and the state files
that let a later cluster remove what an owner that died without ``stop()`` left behind
(its munged, slurmctld and slurmd; the bed's own state file covers the hosts' namespaces,
and with them every job process)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import time
from collections.abc import Iterable
from pathlib import Path

from testing.sshbed.procs import alive, cmdline, start_time

from .deps import state_dir

ENV_MARK = "JRK_SLURMCLUSTER"
MARKER_FILE = ".jrk-slurmcluster"

__all__ = ["ENV_MARK", "MARKER_FILE", "alive", "cleanup_stale", "cmdline", "free_port",
           "kill_and_wait", "marked_pids", "recorded_clusters", "remove_resources", "running",
           "start_time", "tail"]


def running(pid: int) -> bool:
    """`pid` exists and is not a zombie (the dead children this machine's init reaps late)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def marked_pids(prefix: str) -> set[int]:
    """PIDs whose environment has ENV_MARK=<value starting with `prefix`>."""
    needle = f"{ENV_MARK}={prefix}".encode()
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            env = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if any(item.startswith(needle) for item in env.split(b"\0")):
            found.add(int(entry))
    return found


def kill_and_wait(pids: Iterable[int], timeout: float = 15.0) -> list[int]:
    """SIGKILL `pids` (and their process groups when they lead one); wait until gone.
    Returns the ones still running after `timeout`."""
    pids = {p for p in pids if p != os.getpid()}
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid and pid != os.getpgrp():
                os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(running(p) for p in pids):
            return []
        time.sleep(0.05)
    return sorted(p for p in pids if running(p))


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def remove_resources(state: dict, remove_workdir: bool = True) -> list[str]:
    """Kill what `state` records (daemons by PID + start time, marked processes);
    returns errors."""
    pids = {pid for pid, start, _ in state.get("daemons", [])
            if start and alive(pid, start)}
    if state.get("id"):
        pids |= marked_pids(f"{state['id']}-")
    left = kill_and_wait(pids)
    errors = [f"processes {left} survived SIGKILL"] if left else []
    workdir = Path(state.get("workdir", "/nonexistent"))
    if remove_workdir and state.get("own_workdir") and (workdir / MARKER_FILE).is_file():
        shutil.rmtree(workdir, ignore_errors=True)
    return errors


def _states() -> list[tuple[Path, dict]]:
    out = []
    for f in sorted(state_dir().glob("*.json")):
        with contextlib.suppress(OSError, ValueError):
            out.append((f, json.loads(f.read_text())))
    return out


def recorded_clusters() -> list[dict]:
    """The state of every cluster on this machine whose owner is alive."""
    return [s for _, s in _states() if alive(s.get("owner_pid", 0), s.get("owner_start"))]


def cleanup_stale() -> list[str]:
    """Remove what clusters whose owner died without stop() left behind; returns their ids.
    (Their beds are cleaned by the next SSHTestBed, which this module's caller starts.)"""
    cleaned = []
    for f, state in _states():
        if alive(state.get("owner_pid", 0), state.get("owner_start")):
            continue
        if not remove_resources(state):
            f.unlink(missing_ok=True)
        cleaned.append(state.get("id", f.stem))
    return cleaned
