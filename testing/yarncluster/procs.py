"""Processes of the real YARN test cluster, found through ``/proc``, and the state files
that let a later cluster remove what an owner that died without ``stop()`` left behind."""

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
from typing import Optional

from .deps import state_dir

ENV_MARK = "JRK_YARNCLUSTER"
MARKER_FILE = ".jrk-yarncluster"


# -- process helpers -----------------------------------------------------------------------
def start_time(pid: int) -> Optional[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def running(pid: int, start: Optional[str] = None) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] != "Z" and (start is None or fields[19] == start)


def environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    out = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            out[key.decode(errors="replace")] = value.decode(errors="replace")
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace").strip()
    except OSError:
        return ""


def all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


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
        left = [p for p in pids if running(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if running(p)]


def container_pids(cluster_ts: Optional[str]) -> set[int]:
    """Processes of YARN containers of the RM started at `cluster_ts` (any RM if None):
    launch_container.sh exports CONTAINER_ID=container_<ts>_... to all of them."""
    needle = f"container_{cluster_ts}_" if cluster_ts else "container_"
    found = set()
    for pid in all_pids():
        if environ(pid).get("CONTAINER_ID", "").startswith(needle) or (
                cluster_ts and needle in cmdline(pid)):
            found.add(pid)
    return found


def marked_pids(prefix: str) -> set[int]:
    return {pid for pid in all_pids() if environ(pid).get(ENV_MARK, "").startswith(prefix)}


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]



def remove_resources(state: dict, remove_workdir: bool = True) -> list[str]:
    """Kill what `state` records (JVMs, marked processes, containers); returns errors."""
    errors = []
    pids = {pid for pid, start, _ in state.get("jvms", []) if start and running(pid, start)}
    if state.get("id"):
        pids |= marked_pids(f"{state['id']}-")
    if state.get("cluster_timestamp"):
        pids |= container_pids(state["cluster_timestamp"])
    left = kill_and_wait(pids)
    if state.get("cluster_timestamp"):  # containers forked while we killed
        left += kill_and_wait(container_pids(state["cluster_timestamp"]))
    if left:
        errors.append(f"processes {sorted(set(left))} survived SIGKILL")
    workdir = Path(state.get("workdir", "/nonexistent"))
    if remove_workdir and state.get("own_workdir") and (workdir / MARKER_FILE).is_file():
        shutil.rmtree(workdir, ignore_errors=True)
    return errors


def recorded_clusters() -> list[dict]:
    """The state of every cluster on this machine whose owner is alive."""
    out = []
    for f in sorted(state_dir().glob("*.json")):
        try:
            state = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if running(state.get("owner_pid", 0), state.get("owner_start")):
            out.append(state)
    return out


def cleanup_stale() -> list[str]:
    """Remove what clusters whose owner died without stop() left behind; returns their ids."""
    cleaned = []
    for f in sorted(state_dir().glob("*.json")):
        try:
            state = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        owner = state.get("owner_pid", 0)
        if running(owner, state.get("owner_start")):
            continue
        if not remove_resources(state):
            f.unlink(missing_ok=True)
        cleaned.append(state.get("id", f.stem))
    return cleaned

