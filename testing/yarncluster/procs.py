"""Processes of the real YARN test cluster (its JVMs, its containers' processes) and its
state files, that let a later cluster remove what an owner that died without ``stop()`` left
behind (the /proc helpers and the state file loop are :mod:`testing.procs`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from testing import procs
from testing.procs import (
    StateFiles,
    all_pids,
    cmdline,
    environ,
    free_port,
    kill_and_wait,
    running,
    start_time,
    tail,
)

ENV_MARK = "JRK_YARNCLUSTER"
STATE_FILES = StateFiles("jrk-yarncluster")
MARKER_FILE = STATE_FILES.marker

__all__ = ["ENV_MARK", "MARKER_FILE", "STATE_FILES", "all_pids", "cleanup_stale", "cmdline",
           "container_pids", "environ", "free_port", "kill_and_wait", "marked_pids",
           "parent_pid", "recorded_clusters", "remove_resources", "running", "start_time", "tail"]


def parent_pid(pid: int) -> int:
    """The parent of `pid` (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1])
    except (OSError, IndexError, ValueError):
        return 0


def container_pids(cluster_ts: Optional[str]) -> set[int]:
    """Processes of YARN containers of the RM started at `cluster_ts` (any RM if None):
    launch_container.sh exports CONTAINER_ID=container_<ts>_... to all of them."""
    needle = f"container_{cluster_ts}_" if cluster_ts else "container_"
    found = set()
    for pid in all_pids():
        if environ(pid).get("CONTAINER_ID", "").startswith(needle) or (
                cluster_ts and needle in (cmdline(pid) or "")):
            found.add(pid)
    return found


def marked_pids(prefix: str) -> set[int]:
    return procs.marked_pids(ENV_MARK, prefix)


def _containers(state: dict) -> set[int]:
    return container_pids(state["cluster_timestamp"]) if state.get("cluster_timestamp") else set()


def remove_resources(state: dict, remove_workdir: bool = True) -> list[str]:
    """Kill what `state` records (JVMs, marked processes, containers); returns errors."""
    return procs.remove_recorded(state, STATE_FILES, ENV_MARK, "jvms", _containers,
                                 remove_workdir=remove_workdir)


def recorded_clusters() -> list[dict]:
    """The state of every cluster on this machine whose owner is alive."""
    return STATE_FILES.live()


def cleanup_stale() -> list[str]:
    """Remove what clusters whose owner died without stop() left behind; returns their ids."""
    return STATE_FILES.cleanup_stale(remove_resources)
