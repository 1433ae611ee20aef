"""The SSH test bed's state files under ``/tmp/jrk-sshbed/``: what a bed made, so that a
later bed removes what an owner that died without ``stop()`` (kill -9) left behind."""

from __future__ import annotations

from pathlib import Path

from testing.procs import StateFiles

from .procs import (
    PREFIX,
    SSHTestBedError,
    cmdline,
    kill_and_wait,
    kill_netns,
    marked_pids,
    run_cmd,
    running,
)

STATE_FILES = StateFiles("jrk-sshbed")
MARKER_FILE = STATE_FILES.marker


def state_dir() -> Path:
    return STATE_FILES.dir


def remove_resources(state: dict) -> list[str]:
    """Kill, delete and remove what `state` records; returns the errors."""
    errors = []
    bed_id = state.get("id", "")
    for ns in state.get("namespaces", []):
        if not ns.startswith(PREFIX):
            continue
        try:
            if Path(f"/run/netns/{ns}").exists():
                kill_netns(ns)
                run_cmd(["ip", "netns", "del", ns])
        except SSHTestBedError as exc:
            errors.append(str(exc))
    for pid, start in state.get("sshd", []):
        if start and running(pid, start) and "sshd" in (cmdline(pid) or ""):
            kill_and_wait([pid], timeout=5.0)
    if bed_id:
        kill_and_wait(marked_pids(f"{bed_id}-"), timeout=5.0)
    for link in reversed(state.get("links", [])):
        if link.startswith(PREFIX) and Path(f"/sys/class/net/{link}").exists():
            proc = run_cmd(["ip", "link", "del", link], check=False)
            if proc.returncode and Path(f"/sys/class/net/{link}").exists():
                errors.append(f"cannot delete link {link}: {proc.stderr.strip()}")
    for folder in [state.get("workdir", "/nonexistent"), *state.get("extra_dirs", [])]:
        if not STATE_FILES.remove_workdir(Path(folder)):
            errors.append(f"cannot remove {folder}")
    return errors


def cleanup_stale() -> list[str]:
    """Remove what beds whose owner process died without stop() left behind.
    Returns the ids of the beds cleaned up."""
    return STATE_FILES.cleanup_stale(remove_resources)
