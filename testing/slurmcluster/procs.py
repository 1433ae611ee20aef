"""Processes of the real Slurm test cluster and its state files, that let a later cluster
remove what an owner that died without ``stop()`` left behind (its munged, slurmctld and
slurmd; the bed's own state file covers the hosts' namespaces, and with them every job
process). The /proc helpers and the state file loop are :mod:`testing.procs`."""

from __future__ import annotations

from testing import procs
from testing.procs import (
    StateFiles,
    cmdline,
    free_port,
    kill_and_wait,
    running,
    start_time,
    tail,
)

ENV_MARK = "JRK_SLURMCLUSTER"
STATE_FILES = StateFiles("jrk-slurmcluster")
MARKER_FILE = STATE_FILES.marker

__all__ = ["ENV_MARK", "MARKER_FILE", "STATE_FILES", "cleanup_stale", "cmdline", "free_port",
           "kill_and_wait", "marked_pids", "recorded_clusters", "remove_resources", "running",
           "start_time", "tail"]


def marked_pids(prefix: str) -> set[int]:
    """PIDs whose environment has ENV_MARK=<value starting with `prefix`>."""
    return procs.marked_pids(ENV_MARK, prefix)


def remove_resources(state: dict, remove_workdir: bool = True) -> list[str]:
    """Kill what `state` records (daemons by PID + start time, marked processes);
    returns errors."""
    return procs.remove_recorded(state, STATE_FILES, ENV_MARK, "daemons",
                                 remove_workdir=remove_workdir)


def recorded_clusters() -> list[dict]:
    """The state of every cluster on this machine whose owner is alive."""
    return STATE_FILES.live()


def cleanup_stale() -> list[str]:
    """Remove what clusters whose owner died without stop() left behind; returns their ids.
    (Their beds are cleaned by the next SSHTestBed, which this module's caller starts.)"""
    return STATE_FILES.cleanup_stale(remove_resources)
