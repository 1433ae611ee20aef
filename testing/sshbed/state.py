"""The SSH test bed's state files under ``/tmp/jrk-sshbed/``: what a bed made, so that a
later bed removes what an owner that died without ``stop()`` (kill -9) left behind."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .procs import (
    PREFIX,
    SSHTestBedError,
    alive,
    cmdline,
    kill_netns,
    kill_pids,
    marked_pids,
    run_cmd,
)

MARKER_FILE = ".jrk-sshbed"


def state_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/tmp/jrk-sshbed")
    return Path(f"/tmp/jrk-sshbed-{os.geteuid()}")




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
        if start and alive(pid, start) and "sshd" in (cmdline(pid) or ""):
            kill_pids([pid])
    if bed_id:
        kill_pids(marked_pids(f"{bed_id}-"))
    for link in reversed(state.get("links", [])):
        if link.startswith(PREFIX) and Path(f"/sys/class/net/{link}").exists():
            proc = run_cmd(["ip", "link", "del", link], check=False)
            if proc.returncode and Path(f"/sys/class/net/{link}").exists():
                errors.append(f"cannot delete link {link}: {proc.stderr.strip()}")
    workdir = Path(state.get("workdir", "/nonexistent"))
    if (workdir / MARKER_FILE).is_file():
        shutil.rmtree(workdir, ignore_errors=True)
        if workdir.exists():
            errors.append(f"cannot remove {workdir}")
    return errors


def cleanup_stale() -> list[str]:
    """Remove what beds whose owner process died without stop() left behind.
    Returns the ids of the beds cleaned up."""
    cleaned = []
    for f in sorted(state_dir().glob("*.json")):
        try:
            state = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if alive(state.get("owner_pid", 0), state.get("owner_start")):
            continue
        if not remove_resources(state):
            f.unlink(missing_ok=True)
        cleaned.append(state.get("id", f.stem))
    return cleaned
