"""Processes and network namespaces for the SSH test bed: commands with timeouts, the
bed's marked processes, ``ip netns`` helpers (the /proc helpers are :mod:`testing.procs`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

from testing import procs
from testing.procs import cmdline, descendants, kill_and_wait, running, start_time, tail

PREFIX = "jrk-"
ENV_MARK = "JRK_SSHBED_HOST"


class SSHTestBedError(RuntimeError):
    """Setting up, driving or tearing down the SSH test bed failed."""


__all__ = ["ENV_MARK", "PREFIX", "SSHTestBedError", "cmdline", "descendants", "kill_and_wait",
           "kill_netns", "marked_pids", "netns_available", "netns_pids", "run_cmd", "running",
           "start_time", "tail"]


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


def marked_pids(mark_prefix: str) -> set[int]:
    """PIDs whose environment carries ENV_MARK=<value starting with mark_prefix>."""
    return procs.marked_pids(ENV_MARK, mark_prefix)


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
        kill_and_wait(pids, timeout=5.0)
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

