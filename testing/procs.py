"""Processes and state files of the harnesses that start real daemons for the tests and
benchmarks (:mod:`testing.sshbed`, :mod:`testing.yarncluster`, :mod:`testing.slurmcluster`).

Processes are found through ``/proc``; a PID is checked together with its kernel start time
(guards against PID reuse), and a zombie counts as gone (this machine's init reaps late).
Every running instance of a harness has a JSON state file (:class:`StateFiles`) with its
owner's PID + start time and what it started, so that the next instance removes what an
owner that died without ``stop()`` (kill -9) left behind; :class:`StateOwner` is the
harness classes' common part (context manager, state, stop()). Also the ``up|down`` of
``python -m testing.yarncluster`` / ``testing.slurmcluster`` (:func:`cli_up`,
:func:`cli_down`). Standard library only, no pytest import: benchmarks use it too.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Optional, TypeVar

__all__ = ["StateFiles", "StateOwner", "all_pids", "cli_down", "cli_up", "cmdline", "descendants",
           "environ", "free_port", "kill_and_wait", "marked_pids", "remove_recorded", "running",
           "start_time", "tail"]


# -- /proc -----------------------------------------------------------------------------------
def _stat(pid: int) -> Optional[list[str]]:
    """The fields of /proc/<pid>/stat after the command name (state first), None if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields if len(fields) > 19 else None


def start_time(pid: int) -> Optional[str]:
    """The kernel start time of `pid` (record it with the PID), None if it is gone."""
    fields = _stat(pid)
    return fields[19] if fields else None


def running(pid: int, start: Optional[str] = None) -> bool:
    """`pid` exists, is not a zombie and (given `start`) is the process started then."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z" and (start is None or fields[19] == start)


def all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def cmdline(pid: int) -> Optional[str]:
    """The command line of `pid` joined with spaces, None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def environ(pid: int) -> dict[str, str]:
    """The environment `pid` started with ({} if it is gone or not readable)."""
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


def marked_pids(var: str, prefix: str) -> set[int]:
    """PIDs whose environment has `var`=<a value starting with `prefix`> (the marker a
    harness puts into the environment of everything it starts)."""
    needle = f"{var}={prefix}".encode()
    found = set()
    for pid in all_pids():
        with contextlib.suppress(OSError):
            if any(item.startswith(needle)
                   for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")):
                found.add(pid)
    return found


def descendants(root: int) -> set[int]:
    """Every process below `root` in the process tree (not `root` itself)."""
    children: dict[int, list[int]] = {}
    for pid in all_pids():
        fields = _stat(pid)
        if fields:
            children.setdefault(int(fields[1]), []).append(pid)
    out, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def kill_and_wait(pids: Iterable[int], timeout: float = 15.0) -> list[int]:
    """SIGKILL `pids` (and their process groups when they lead one; never this process or
    its group); wait until all are gone. Returns the ones still running after `timeout`."""
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
        time.sleep(0.02)
    return sorted(p for p in pids if running(p))


def tail(path: Path, lines: int = 25) -> str:
    """The last `lines` lines of a log, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


# -- state files -----------------------------------------------------------------------------
class StateFiles:
    """The state files of one harness: ``/tmp/<dirname>/<id>.json`` (as root, else
    ``/tmp/<dirname>-<uid>/``), one per running instance. A state is a dict with ``id``,
    ``owner_pid`` and ``owner_start`` (see :meth:`new`) plus whatever the harness records
    before it makes something (lists of PIDs with start times, namespaces, workdir). A
    workdir the harness made carries the file ``.<dirname>`` (:meth:`mark_workdir`): only
    such a folder is ever removed."""

    def __init__(self, dirname: str):
        self.dirname = dirname
        self.marker = f".{dirname}"

    @property
    def dir(self) -> Path:
        uid = os.geteuid()
        return Path(f"/tmp/{self.dirname}" if uid == 0 else f"/tmp/{self.dirname}-{uid}")

    def path(self, instance_id: str) -> Path:
        return self.dir / f"{instance_id}.json"

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the harness-wide lock (starting instances and stale cleanup take turns)."""
        self.dir.mkdir(mode=0o700, exist_ok=True)
        with open(self.dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def new(self, instance_id: str, **fields) -> dict:
        """A new instance's state, owned by this process, written to its file."""
        state = {"id": instance_id, "owner_pid": os.getpid(),
                 "owner_start": start_time(os.getpid()), **fields}
        self.write(state)
        return state

    def write(self, state: dict) -> None:
        """Write `state` to its file (atomically: readers never see half of it)."""
        path = self.path(state["id"])
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(path)

    def record(self, state: dict, **lists) -> None:
        """Extend `state`'s lists by `lists` and write it."""
        for key, values in lists.items():
            state.setdefault(key, []).extend(values)
        self.write(state)

    def remove(self, state: dict) -> None:
        with contextlib.suppress(FileNotFoundError, KeyError):
            self.path(state["id"]).unlink()

    def states(self) -> list[tuple[Path, dict]]:
        """(file, state) of every readable state file, live owner or not."""
        out = []
        for f in sorted(self.dir.glob("*.json")):
            with contextlib.suppress(OSError, ValueError):
                out.append((f, json.loads(f.read_text())))
        return out

    def mark_workdir(self, path: Path, instance_id: str) -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / self.marker).write_text(instance_id)

    def remove_workdir(self, path: Path) -> bool:
        """Remove `path` if it is marked; False when a marked folder is still there."""
        if not (path / self.marker).is_file():
            return True
        shutil.rmtree(path, ignore_errors=True)
        return not path.exists()

    @staticmethod
    def owner_alive(state: dict) -> bool:
        return running(state.get("owner_pid", 0), state.get("owner_start"))

    def live(self) -> list[dict]:
        """The state of every instance on this machine whose owner is alive."""
        return [s for _, s in self.states() if self.owner_alive(s)]

    def cleanup_stale(self, remove: Callable[[dict], list[str]]) -> list[str]:
        """Call `remove` (kills what a state records, returns errors) for every instance
        whose owner is gone; delete the file when it succeeded. Returns their ids."""
        cleaned = []
        for f, state in self.states():
            if self.owner_alive(state):
                continue
            if not remove(state):
                f.unlink(missing_ok=True)
            cleaned.append(state.get("id", f.stem))
        return cleaned


_Owner = TypeVar("_Owner", bound="StateOwner")


class StateOwner:
    """Base of the harness classes (SSHTestBed, YarnTestCluster, SlurmTestCluster): the
    context manager, the instance's state (``self._state``, made by ``state_files.new``),
    a ``stop()`` at interpreter exit, stop()'s start and end. A subclass sets
    ``state_files`` and the attributes below, and defines ``start()`` (which registers
    ``_atexit_stop``) and ``stop()``."""

    state_files: StateFiles
    workdir: Path
    _state: dict
    _own_workdir: bool
    _started: bool
    _stopped: bool

    def __enter__(self: _Owner) -> _Owner:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def state(self) -> dict:
        """What the state file records (read by ``python -m testing.<harness> status``)."""
        return dict(self._state)

    def record(self, **lists) -> None:
        """Add to the state file's lists (called before something is made, so that
        cleanup_stale() finds it after a crash) and write it."""
        self.state_files.record(self._state, **lists)

    def _atexit_stop(self) -> None:
        if self._state.get("owner_pid", os.getpid()) == os.getpid():  # not a forked child
            self.stop()

    def _begin_stop(self) -> bool:
        """Start of stop(): False when there is nothing to stop (never started, or stopped
        already); else marks the instance stopped."""
        if self._stopped or not self._started:
            return False
        self._stopped = True
        atexit.unregister(self._atexit_stop)
        return True

    def _record_started(self, t0: float, **fields) -> None:
        """End of start(): record the startup time, the bed's hosts and ``fields``."""
        self.startup_seconds = time.monotonic() - t0
        bed, hosts = getattr(self, "bed", None), getattr(self, "hosts", [])
        if bed is not None:
            fields.update(ssh_config=str(bed.ssh_config_path),
                          hosts=[[h.name, h.hostname, h.address] for h in hosts])
        self._state.update(startup_seconds=round(self.startup_seconds, 1), **fields)
        self.record()

    def _stop_bed(self, errors: list[str], bed: Optional[Any]) -> list[str]:
        """Stop ``bed`` (if any) in stop(); returns ``errors`` with its failure added."""
        if bed is not None:
            try:
                bed.stop()
            except Exception as exc:
                errors.append(f"bed: {exc}")
        return errors

    def _finish_stop(self, errors: list[str], error: type[Exception], what: str) -> None:
        """End of stop(): remove the workdir if the instance made it; then raise `error`
        when something survived (the state file stays for the next cleanup_stale()), else
        remove the state file."""
        if self._own_workdir:
            self.state_files.remove_workdir(self.workdir)
        if errors:
            msg = f"{what} teardown incomplete: " + "; ".join(errors)
            raise error(msg)
        self.state_files.remove(self._state)


def remove_recorded(state: dict, files: StateFiles, env_mark: str, daemons_key: str,
                    extra: Callable[[dict], set[int]] = lambda state: set(),
                    remove_workdir: bool = True) -> list[str]:
    """Kill what a cluster's ``state`` records: its daemons (``state[daemons_key]``: [pid,
    start time, name], by PID + start time), the processes marked ``env_mark=<id>-...`` and
    ``extra(state)`` (e.g. a YARN cluster's containers, asked again for those forked while
    we killed); remove its workdir if it made it. Returns errors. Used by stop() and by the
    next instance's cleanup after an owner that died without stop()."""
    pids = {pid for pid, start, _ in state.get(daemons_key, []) if start and running(pid, start)}
    if state.get("id"):
        pids |= marked_pids(env_mark, f"{state['id']}-")
    left = kill_and_wait(pids | extra(state))
    left += kill_and_wait(extra(state))
    errors = [f"processes {sorted(set(left))} survived SIGKILL"] if left else []
    if remove_workdir and state.get("own_workdir"):
        files.remove_workdir(Path(state.get("workdir", "/nonexistent")))
    return errors


# -- python -m testing.<harness> up | down ---------------------------------------------------
def cli_up(cluster, usage: Callable[[object], str], error: type[Exception],
           stopped: str) -> int:
    """Start `cluster`, print `usage(cluster)`, keep it up (``check_alive()`` every second)
    until Ctrl-C, SIGTERM (``down``) or SIGHUP, then stop it and print `stopped`."""
    def _stop(signum, frame):
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)
    try:
        cluster.start()
        print(usage(cluster), flush=True)
        while True:
            time.sleep(1)
            cluster.check_alive()
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    except error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        cluster.stop()
    print(stopped)
    return 0


def cli_down(files: StateFiles, cleanup_stale: Callable[[], list[str]], label: str,
             timeout: float = 60) -> int:
    """SIGTERM the owners of the live instances labelled `label` (their ``up``), wait until
    they are gone, then clean up what dead owners left."""
    clusters = [c for c in files.live() if c.get("label") == label]
    for state in clusters:
        os.kill(state["owner_pid"], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not {c["id"] for c in files.live()} & {c["id"] for c in clusters}:
            break
        time.sleep(0.2)
    else:
        print(f"error: a cluster did not stop within {timeout:g} s", file=sys.stderr)
        return 1
    cleaned = cleanup_stale()
    print(f"stopped {len(clusters)} cluster(s)"
          + (f"; cleaned leftovers of {cleaned}" if cleaned else ""))
    return 0
