"""Benchmark: plain ipykernel vs our local and ssh kernels vs gateway_provisioners' SSH.

    python -m benchmarks.run [--repeat 5] [--only plain,ours-ssh] [--out benchmarks/results]

Needs root (the SSH test bed's network-namespace hosts). All configurations run in one go,
one after the other, on the same bed hosts; each gets its own `jupyter server` process on
loopback:

* ``plain``: a stock Jupyter Server (no extension of ours) with ipykernel_launcher;
* ``ours-local``: this extension, the shipped local kernelspec (launcher on this machine);
* ``ours-ssh``: this extension, an ssh kernelspec over the bed's two hosts;
* ``gp-ssh``: gateway_provisioners' DistributedProvisioner, served from its own venv
  (``/tmp/gpvenv`` or ``--gp-python``: ``pip install gateway_provisioners jupyter_server
  ipykernel pycryptodomex``), a kernelspec made by its ``jupyter-ssh-spec install`` for the
  same hosts; skipped, with the reason, when that venv is missing or incomplete.

Every server also loads :mod:`benchmarks.lagprobe` (event-loop lag probe). Every wait is
bounded; writes ``results.md`` and ``results.json`` into ``--out``, with the versions run
(Python, jupyter_server, jupyter_client, ipykernel, this package's git revision, GP's).

``--trials N`` runs every configuration N times, rotating their order (trial 1: a, b, c;
trial 2: b, c, a; ...) so that no configuration always meets the same load; each trial is
a fresh server with the sequential measurements and one burst of 10 and of 20 concurrent
starts, and the table shows medians over the trials.

Exit status: 1 when ``plain`` or a configuration of this project failed (a server that
did not start, a start, execute, interrupt or restart that failed, a failed concurrent
start): its server log is kept and its path printed. Only the optional peer (``gp-ssh``)
is skipped, saying why, when its venv is missing; a failure of the peer once it runs is
reported, not fatal. Before anything runs, the Python the kernels use must import
ipykernel, else the run stops at once (exit 1) saying what to install.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests
import websocket

from testing.specs import (
    REMOTE_PYTHON,
    pids_mentioning,
    shipped_local_spec,
    ssh_spec,
    write_kernelspec,
)
from testing.sshbed import SSHTestBed

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CONFIGS = ("plain", "ours-local", "ours-ssh", "gp-ssh")
OPTIONAL = ("gp-ssh",)  # peers that may be absent; everything else must run
GP_INSTALL = "pip install gateway_provisioners jupyter_server ipykernel pycryptodomex"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One `jupyter server` process with the given kernelspecs (and the lag probe)."""

    def __init__(
        self,
        workdir: Path,
        python: str,
        specs: dict,
        extensions: dict,
        env: dict | None = None,
        data: Path | None = None,
        prefix: list[str] | None = None,
    ) -> None:
        data = data or workdir / "data"
        for name, spec in specs.items():
            write_kernelspec(data / "kernels", name, spec)
        self.workdir = workdir
        self.port, self.token = free_port(), uuid.uuid4().hex
        env = dict(
            os.environ,
            **(env or {}),
            JUPYTER_PATH=str(data),
            JUPYTER_RUNTIME_DIR=str(workdir / "rt"),
            JUPYTER_CONFIG_DIR=str(workdir / "cfg"),
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        )
        extensions = {"benchmarks.lagprobe": True, **extensions}
        self.log_path = workdir / "server.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [
                    *(prefix or []),
                    python,
                    "-m",
                    "jupyter_server",
                    "--allow-root",
                    "--no-browser",
                    f"--port={self.port}",
                    f"--IdentityProvider.token={self.token}",
                    f"--ServerApp.root_dir={workdir}",
                    f"--ServerApp.jpserver_extensions={extensions!r}",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
                cwd=workdir,
            )
        self.url = f"http://127.0.0.1:{self.port}"
        self.headers = {"Authorization": f"token {self.token}"}
        self.session = requests.Session()
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{self.url}/api/status", headers=self.headers, timeout=2)
                return
            except requests.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    msg = f"server did not start; see {self.log_path}"
                    raise RuntimeError(msg) from None
                time.sleep(0.2)

    def start(self, name: str, timeout: float = 120) -> tuple[str, float]:
        """Start a kernel; the time runs until it answers an execute request."""
        t = time.monotonic()
        r = requests.post(
            f"{self.url}/api/kernels",
            headers=self.headers,
            timeout=timeout,
            data=json.dumps({"name": name}),
        )
        if r.status_code != 201:
            msg = f"POST /api/kernels: {r.status_code} {r.text[:300]}"
            raise RuntimeError(msg)
        kernel_id = r.json()["id"]
        ws = self.channel(kernel_id)
        try:
            execute(ws, "1", timeout=timeout)
        finally:
            ws.close()
        return kernel_id, time.monotonic() - t

    def channel(self, kernel_id: str):
        url = self.url.replace("http", "ws") + f"/api/kernels/{kernel_id}/channels"
        return websocket.create_connection(
            url, header=[f"Authorization: token {self.token}"], timeout=60
        )

    def delete(self, kernel_id: str) -> float:
        t = time.monotonic()
        requests.delete(f"{self.url}/api/kernels/{kernel_id}", headers=self.headers, timeout=60)
        return time.monotonic() - t

    def delete_all(self, kernel_ids: list[str]) -> None:
        with cf.ThreadPoolExecutor(max(1, len(kernel_ids))) as pool:
            list(pool.map(self.delete, kernel_ids))

    def lag(self, reset: bool = False) -> float:
        """The lag probe's largest event-loop lateness (ms) since the last reset."""
        method = requests.post if reset else requests.get
        r = method(f"{self.url}/api/bench/lag", headers=self.headers, timeout=30)
        r.raise_for_status()
        return float(r.json()["max_late_ms"])

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def recv(ws, deadline: float) -> dict:
    """The next message, or TimeoutError at ``deadline`` (websocket pings keep a plain
    recv() with a timeout waiting forever)."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no message from the kernel in time")
        ws.settimeout(min(2.0, remaining))
        try:
            return json.loads(ws.recv())
        except websocket.WebSocketTimeoutException:
            continue


def wait_for_message(ws, msg_id: str, msg_type: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        m = recv(ws, deadline)
        if m.get("parent_header", {}).get("msg_id") == msg_id and m["msg_type"] == msg_type:
            return m


def reply_and_idle(ws, msg_id: str, timeout: float, started: float = 0.0) -> tuple[dict, float]:
    """The execute_reply (and when it came) once the kernel is idle again after it."""
    deadline = time.monotonic() + timeout
    reply, at, idle = None, 0.0, False
    while reply is None or not idle:
        m = recv(ws, deadline)
        if m.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "execute_reply":
            reply, at = m["content"], time.monotonic()
        elif m["msg_type"] == "status" and m["content"].get("execution_state") == "idle":
            idle = True
    return reply, at - started


def send_execute(ws, code: str) -> str:
    """Send an execute_request over a kernel websocket; returns its msg_id."""
    msg_id = uuid.uuid4().hex
    header = {
        "msg_id": msg_id,
        "msg_type": "execute_request",
        "username": "b",
        "session": uuid.uuid4().hex,
        "date": "",
        "version": "5.3",
    }
    content = {
        "code": code,
        "silent": False,
        "store_history": False,
        "user_expressions": {},
        "allow_stdin": False,
    }
    ws.send(
        json.dumps(
            {
                "header": header,
                "parent_header": {},
                "metadata": {},
                "buffers": [],
                "channel": "shell",
                "content": content,
            }
        )
    )
    return msg_id


def execute(ws, code: str, timeout: float = 60) -> dict:
    return reply_and_idle(ws, send_execute(ws, code), timeout)[0]


def alive(kernel_ids: list[str]) -> int:
    """Processes (on this machine and every bed host: one PID space) of these kernels."""
    return sum(len(pids_mentioning(k)) for k in kernel_ids)


def poll_status(server: Server, stop: threading.Event, out: list, errors: list) -> None:
    """GET /api/status every 20 ms; records each request's latency (bounded by `stop`)."""
    session = requests.Session()
    for _ in range(100_000):
        if stop.is_set():
            return
        t = time.monotonic()
        try:
            r = session.get(f"{server.url}/api/status", headers=server.headers, timeout=30)
            if r.status_code != 200:
                errors.append(r.status_code)
        except requests.RequestException as exc:
            errors.append(type(exc).__name__)
        out.append(time.monotonic() - t)
        stop.wait(0.02)


def concurrent_starts(server: Server, name: str, n: int) -> dict:
    stop, lat, errors = threading.Event(), [], []
    poller = threading.Thread(target=poll_status, args=(server, stop, lat, errors), daemon=True)
    rss = server.rss_mb()
    server.lag(reset=True)
    poller.start()
    t = time.monotonic()
    with cf.ThreadPoolExecutor(n) as pool:
        results = list(pool.map(lambda _: _try_start(server, name), range(n)))
    wall = time.monotonic() - t
    lag_ms = server.lag()
    stop.set()
    poller.join(35)
    ids = [kid for kid, _ in results if kid]
    failed = [err for _, err in results if err]
    out = {
        "wall_s": wall,
        "status_max_ms": max(lat or [0.0]) * 1000,
        "lag_max_ms": lag_ms,
        "rss_per_kernel_mb": (server.rss_mb() - rss) / max(1, len(ids)),
        "failed": len(failed),
    }
    if failed:
        out["first_error"] = failed[0][:300]
    if errors:
        out["status_errors"] = len(errors)
    server.delete_all(ids)
    return out


def _try_start(server: Server, name: str) -> tuple[str, str]:
    try:
        return server.start(name)[0], ""
    except Exception as exc:
        return "", f"{type(exc).__name__}: {exc}"


def interrupt_once(server: Server, ws, kernel_id: str) -> float:
    msg_id = send_execute(ws, "import time; time.sleep(30)")
    wait_for_message(ws, msg_id, "execute_input", 10)
    time.sleep(0.3)  # inside time.sleep by now: SIGINT outside user code upsets ipykernel
    t = time.monotonic()
    requests.post(
        f"{server.url}/api/kernels/{kernel_id}/interrupt", headers=server.headers, timeout=30
    )
    return reply_and_idle(ws, msg_id, 30, started=t)[1]


def measure(server: Server, name: str, repeat: int, trials: int = 3) -> dict:
    res: dict = {}
    starts, ids = [], []
    for _ in range(repeat):
        kid, dt = server.start(name)
        starts.append(dt)
        ids.append(kid)
    res["start_s"] = statistics.median(starts)
    ws = server.channel(ids[0])
    rtts = []
    for _ in range(20):
        t = time.monotonic()
        execute(ws, "1+1")
        rtts.append(time.monotonic() - t)
    res["execute_ms"] = statistics.median(rtts) * 1000
    res["interrupt_ms"] = (
        statistics.median(interrupt_once(server, ws, ids[0]) for _ in range(3)) * 1000
    )
    ws.close()
    old = pids_mentioning(ids[0])
    requests.post(
        f"{server.url}/api/kernels/{ids[0]}/restart", headers=server.headers, timeout=60
    ).raise_for_status()
    time.sleep(5)
    res["restart_left_5s"] = len([p for p in old if p in pids_mentioning(ids[0])])
    shut = [server.delete(k) for k in ids]
    res["shutdown_s"] = statistics.median(shut)
    time.sleep(5)
    res["delete_left_5s"] = alive(ids)
    for n in (10, 20):
        # One burst's maximum stall is at the mercy of the 2 cores' scheduling: each figure
        # is the median over `trials` bursts; the worst burst is kept in the JSON too.
        bursts = []
        for _ in range(trials):
            bursts.append(concurrent_starts(server, name, n))
            time.sleep(2)
        for key, field in (
            ("wall_s", f"concurrent{n}_s"),
            ("status_max_ms", f"status_max_ms_{n}"),
            ("lag_max_ms", f"lag_max_ms_{n}"),
        ):
            res[field] = statistics.median(c[key] for c in bursts)
            res[f"{field}_worst"] = max(c[key] for c in bursts)
        failed = [c for c in bursts if c["failed"]]
        if failed:
            res[f"concurrent{n}_failed"] = sum(c["failed"] for c in failed)
            res[f"concurrent{n}_error"] = failed[0]["first_error"]
        status_errors = sum(c.get("status_errors", 0) for c in bursts)
        if status_errors:
            res[f"status_errors_{n}"] = status_errors
        if n == 20:
            res["rss_per_kernel_mb"] = statistics.median(c["rss_per_kernel_mb"] for c in bursts)
    return res


def stop_check(server: Server, name: str, n: int = 4) -> dict:
    """Start n kernels, stop the server (SIGTERM); processes of them alive 5 s later."""
    ids = [server.start(name)[0] for _ in range(n)]
    server.stop()
    time.sleep(5)
    return {"stop_left_5s": alive(ids)}


class PeerAbsent(RuntimeError):
    """The optional peer (gateway_provisioners' venv) is not installed: skip it, saying so."""


def gp_setup(workdir: Path, gp_python: str, bed: SSHTestBed) -> tuple[dict, Path]:
    """gateway_provisioners' ssh kernelspec for the bed hosts, and its server's env.

    Raises PeerAbsent when its venv is missing or incomplete, RuntimeError when it is there
    but cannot be set up.
    """
    if not Path(gp_python).exists():
        msg = f"no {gp_python} (make a venv there: {GP_INSTALL})"
        raise PeerAbsent(msg)
    probe = subprocess.run(
        [gp_python, "-c", "import gateway_provisioners, jupyter_server, ipykernel, Cryptodome"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if probe.returncode:
        msg = f"{gp_python} lacks a package ({probe.stderr.strip().splitlines()[-1]}): {GP_INSTALL}"
        raise PeerAbsent(msg)
    if bed.mode != "netns" or len({h.port for h in bed.hosts}) != 1:
        msg = "GP has one SSH port for all hosts (GP_SSH_PORT): needs the bed's netns mode (root)"
        raise PeerAbsent(msg)
    prefix = workdir / "gpdata"
    spec_app = Path(gp_python).parent / "jupyter-ssh-spec"
    hosts = [arg for h in bed.hosts for arg in ("--remote-hosts", h.address)]
    made = subprocess.run(
        [str(spec_app), "install", "--kernel-name", "gp-ssh", "--prefix", str(prefix), *hosts],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    spec_file = prefix / "share" / "jupyter" / "kernels" / "gp-ssh" / "kernel.json"
    if made.returncode or not spec_file.exists():
        msg = f"jupyter-ssh-spec install failed: {(made.stderr or made.stdout).strip()[-300:]}"
        raise RuntimeError(msg)
    spec = json.loads(spec_file.read_text())
    # GP sends argv as written; the hosts share this machine's files, so the venv's Python
    # (with ipykernel and pycryptodomex) and the installed launcher path work there.
    spec["argv"][0] = gp_python
    spec_file.write_text(json.dumps(spec, indent=1))
    home = workdir / "home"  # GP's paramiko reads ~/.ssh: the bed's client key and host keys
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    shutil.copy(bed.client_key_path, home / ".ssh" / "id_ed25519")
    shutil.copy(bed.known_hosts_path, home / ".ssh" / "known_hosts")
    (workdir / "logs").mkdir()
    env = {
        "HOME": str(home),
        "GP_REMOTE_USER": bed.user,
        "GP_SSH_PORT": str(bed.hosts[0].port),
        "GP_RESPONSE_IP": bed.route_source_address,
        "GP_RESPONSE_PORT": str(free_port()),
        "GP_UNAUTHORIZED_USERS": "nobody",  # its default (root) refuses a root-run server
        "GP_KERNEL_LOG_DIR": str(workdir / "logs"),
        "GP_LOAD_BALANCING_ALGORITHM": "round-robin",
    }
    return env, prefix / "share" / "jupyter"


def make_server(name: str, workdir: Path, bed: SSHTestBed, options) -> Server:
    ours = {"jupyter_remote_kernels": True}
    plain = {
        "argv": [REMOTE_PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "plain",
        "language": "python",
    }
    if name == "plain":
        return Server(workdir, sys.executable, {name: plain}, {})
    if name == "ours-local":
        return Server(workdir, sys.executable, {name: shipped_local_spec()}, ours)
    if name == "ours-ssh":
        return Server(workdir, sys.executable, {name: ssh_spec(bed)}, ours)
    env, data = gp_setup(workdir, options.gp_python, bed)
    return Server(workdir, options.gp_python, {}, {}, env=env, data=data)


def run_trial(name: str, trial: int, tmp: Path, bed: SSHTestBed, options) -> dict:
    """One trial of one configuration on a fresh server.

    Returns its measurements, ``{"absent": reason}`` for a missing optional peer, or
    ``{"error": ..., "log": ...}`` when something failed (the log is kept).
    """
    workdir = tmp / f"{name}-trial{trial + 1}"
    workdir.mkdir()
    load = os.getloadavg()[0]
    server = None
    try:
        server = make_server(name, workdir, bed, options)
        kernel = "gp-ssh" if name == "gp-ssh" else name
        res = measure(server, kernel, options.repeat, trials=1)
        if trial == options.trials - 1:
            res.update(stop_check(server, kernel))
        failed = {k: v for k, v in res.items() if k.endswith("_error")}
        if failed:
            raise RuntimeError("; ".join(f"{k}: {v}" for k, v in failed.items()))
    except PeerAbsent as exc:
        return {"absent": str(exc)}
    except Exception as exc:
        log = keep_log(workdir, name, trial, options)
        return {"error": f"{type(exc).__name__}: {exc}"[:600], "log": log}
    finally:
        if server is not None:
            server.stop()
        if options.keep_logs and server is not None:
            options.keep_logs.mkdir(parents=True, exist_ok=True)
            shutil.copy(server.log_path, options.keep_logs / f"{name}-trial{trial + 1}.log")
    res["load_1min"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    return res


def keep_log(workdir: Path, name: str, trial: int, options) -> str:
    """Copy a failed run's server log out of the temporary folder; its new path."""
    folder = options.failed_logs
    folder.mkdir(parents=True, exist_ok=True)
    source = workdir / "server.log"
    target = folder / f"{name}-trial{trial + 1}.log"
    if source.exists():
        shutil.copy(source, target)
        return str(target)
    return f"(no server log: the server was not started; workdir {workdir})"


def combine(trials: list[dict]) -> dict:
    """Medians over the trials of one configuration (worst bursts kept), or its failure."""
    errors = [t for t in trials if "error" in t]
    if errors:
        return {"error": errors[0]["error"], "log": errors[0]["log"], "trials": trials}
    if any("absent" in t for t in trials):
        return {"skipped": next(t["absent"] for t in trials if "absent" in t)}
    out: dict = {"trials": trials}
    keys = {k for t in trials for k, v in t.items() if isinstance(v, (int, float))}
    for key in sorted(keys):
        values = [t[key] for t in trials if isinstance(t.get(key), (int, float))]
        if key.endswith(("_left_5s", "_failed", "_worst")):
            out[key] = max(values)  # the worst trial
        else:
            out[key] = statistics.median(values)
    return out


def python_versions(python: str) -> dict:
    """Versions of the packages a server runs with, as ``python`` sees them."""
    code = (
        "import json, platform, importlib.metadata as m\n"
        "v = {'python': platform.python_version()}\n"
        "for p in ('jupyter_server', 'jupyter_client', 'ipykernel', 'gateway_provisioners'):\n"
        "    try:\n        v[p] = m.version(p)\n    except m.PackageNotFoundError:\n"
        "        pass\n"
        "print(json.dumps(v))"
    )
    try:
        done = subprocess.run(
            [python, "-c", code], capture_output=True, text=True, timeout=60, check=True
        )
        return json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return {"error": str(exc)[:200]}


def git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        return rev + ("+local changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        try:
            return "not a git checkout; version " + importlib.metadata.version(
                "jupyter_remote_kernels"
            )
        except importlib.metadata.PackageNotFoundError:
            return "unknown"


def preflight(names: list[str]) -> None:
    """Stop at once, with what to do, when the kernels' Python cannot run ipykernel.

    ``plain`` and ``ours-ssh`` run kernels with :data:`REMOTE_PYTHON` (this interpreter; the
    bed's hosts share this machine's files), ``ours-local`` with the shipped spec's python.
    """
    if not {"plain", "ours-local", "ours-ssh"} & set(names):
        return
    probe = subprocess.run(
        [REMOTE_PYTHON, "-c", "import ipykernel"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if probe.returncode:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        print(
            f"benchmark cannot run: the kernels' Python {REMOTE_PYTHON} cannot import "
            f"ipykernel ({last}). Install this package with its dependencies into that "
            f"Python: {REMOTE_PYTHON} -m pip install -e '.[test]'",
            file=sys.stderr,
        )
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--trials",
        type=int,
        default=3,
        help="runs of every configuration, in rotating order (each with one burst of 10 "
        "and of 20 concurrent starts); the table shows their median",
    )
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--gp-python", default="/tmp/gpvenv/bin/python")
    parser.add_argument(
        "--only",
        default=",".join(CONFIGS),
        help="comma-separated configurations: " + ", ".join(CONFIGS),
    )
    parser.add_argument(
        "--keep-logs", type=Path, default=None, help="copy each server's log into this folder"
    )
    parser.add_argument(
        "--failed-logs",
        type=Path,
        default=None,
        help="where the logs of failed runs are kept (default: a new /tmp/jrk-bench-failed-*)",
    )
    options = parser.parse_args()
    names = [n.strip() for n in options.only.split(",") if n.strip()]
    unknown = set(names) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configurations: {', '.join(sorted(unknown))}")
    if options.trials < 1 or options.repeat < 1:
        parser.error("--trials and --repeat must be at least 1")
    preflight(names)
    if options.failed_logs is None:
        options.failed_logs = Path(tempfile.mkdtemp(prefix="jrk-bench-failed-"))
        made_failed_logs = True
    else:
        made_failed_logs = False
    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": f"{platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "load_1_5_15_at_start": [round(x, 2) for x in os.getloadavg()],
        "repeat": options.repeat,
        "trials": options.trials,
        "command": "python -m benchmarks.run " + " ".join(sys.argv[1:]),
        "versions": {
            "server": python_versions(sys.executable),
            "kernels": python_versions(REMOTE_PYTHON),
            "jupyter_remote_kernels": git_revision(),
        },
    }
    if "gp-ssh" in names and Path(options.gp_python).exists():
        meta["versions"]["gp-ssh"] = python_versions(options.gp_python)
    per_trial: dict = {name: [] for name in names}
    order_log = []
    with tempfile.TemporaryDirectory() as tmp, SSHTestBed(2, Path(tmp) / "bed") as bed:
        meta["hosts"] = f"{len(bed.hosts)} sshd hosts ({bed.mode})"
        for trial in range(options.trials):
            order = names[trial % len(names) :] + names[: trial % len(names)]
            order_log.append(order)
            for name in order:
                if per_trial[name] and "absent" in per_trial[name][-1]:
                    continue  # an absent peer stays absent
                result = run_trial(name, trial, Path(tmp), bed, options)
                per_trial[name].append(result)
                print(f"trial {trial + 1} {name}", result, flush=True)
    meta["order"] = order_log
    meta["load_1_5_15_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results = {name: combine(per_trial[name]) for name in names}
    write(meta, results, Path(options.out))
    failed = [n for n, r in results.items() if "error" in r and n not in OPTIONAL]
    for name, res in results.items():
        if "error" in res:
            print(f"FAILED {name}: {res['error']}\n  server log: {res['log']}", file=sys.stderr)
        elif "skipped" in res:
            print(f"skipped {name} (optional peer): {res['skipped']}", file=sys.stderr)
    if made_failed_logs and not any("error" in r for r in results.values()):
        shutil.rmtree(options.failed_logs, ignore_errors=True)
    if failed:
        print(f"benchmark FAILED: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


COLUMNS = [
    ("start_s", "start→ready s"),
    ("execute_ms", "execute ms"),
    ("interrupt_ms", "interrupt ms"),
    ("shutdown_s", "shutdown s"),
    ("concurrent10_s", "10 starts s*"),
    ("concurrent20_s", "20 starts s*"),
    ("lag_max_ms_20", "max loop lag ms (20 starts)*"),
    ("status_max_ms_20", "max /api/status ms (20 starts)*"),
    ("rss_per_kernel_mb", "server MB/kernel"),
    ("delete_left_5s", "left 5 s after delete"),
    ("restart_left_5s", "left 5 s after restart"),
    ("stop_left_5s", "left 5 s after stop"),
]


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.0f}" if value >= 100 else f"{value:.2f}"
    return "-" if value is None else str(value)


def ratios(results: dict) -> list[str]:
    local = results.get("ours-local", {})
    keys = (
        "start_s",
        "concurrent10_s",
        "lag_max_ms_20",
        "status_max_ms_20",
        "execute_ms",
        "interrupt_ms",
    )
    lines = []
    for name, res in results.items():
        if (
            name == "ours-local"
            or not all(k in res for k in keys)
            or not all(k in local for k in keys)
        ):
            continue

        def ratio(key: str, floor: float = 1e-9, res=res) -> float:
            return res[key] / max(local[key], floor)

        lines.append(
            f"| {name} | {res['start_s'] - local['start_s']:+.2f} s | "
            f"{ratio('concurrent10_s'):.2f}x | {ratio('lag_max_ms_20', 1):.2f}x | "
            f"{ratio('status_max_ms_20', 1):.2f}x | {ratio('execute_ms'):.2f}x | "
            f"{ratio('interrupt_ms'):.2f}x | "
            f"{res.get('delete_left_5s')}/{res.get('restart_left_5s')}/{res.get('stop_left_5s')} |"
        )
    if not lines:
        return []
    return [
        "",
        "Against ours-local in the same run (targets for ours-ssh from issue 4: start "
        "≤ +0.15 s, the others ≤ 1.2x, 0 processes left):",
        "",
        "| config | start - local | 10 starts | loop lag (20) | /api/status (20) | execute "
        "| interrupt | left delete/restart/stop |",
        "|---" * 8 + "|",
        *lines,
    ]


def versions_line(versions: dict) -> str:
    parts = [f"jupyter_remote_kernels {versions.get('jupyter_remote_kernels', '?')}"]
    for role in ("server", "kernels", "gp-ssh"):
        found = versions.get(role)
        if found:
            parts.append(role + ": " + ", ".join(f"{k} {v}" for k, v in found.items()))
    return "; ".join(parts)


def write(meta: dict, results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    lines = [
        "| config | " + " | ".join(t for _, t in COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    notes = []
    for name, res in results.items():
        if "skipped" in res:
            lines.append(f"| {name} | skipped | " + " | ".join("" for _ in COLUMNS[1:]) + " |")
            notes.append(f"- {name} skipped (optional peer absent): {res['skipped']}")
            continue
        if "error" in res:
            lines.append(f"| {name} | FAILED | " + " | ".join("" for _ in COLUMNS[1:]) + " |")
            notes.append(f"- {name} FAILED: {res['error']} (server log: {res['log']})")
            continue
        lines.append(f"| {name} | " + " | ".join(_cell(res.get(k)) for k, _ in COLUMNS) + " |")
        for n in (10, 20):
            if res.get(f"concurrent{n}_failed"):
                notes.append(
                    f"- {name}: {res[f'concurrent{n}_failed']} of {n} concurrent "
                    f"starts failed: {res[f'concurrent{n}_error']}"
                )
            if res.get(f"status_errors_{n}"):
                notes.append(
                    f"- {name}: {res[f'status_errors_{n}']} GET /api/status answers "
                    f"were not 200 during {n} concurrent starts"
                )
    lines += [
        "",
        f"\\* median of {meta.get('trials', 1)} bursts of concurrent starts (one per "
        "trial, configurations in rotating order); the worst burst of each is in "
        "results.json (`..._worst`).",
    ]
    lines += ratios(results)
    lines += [
        "",
        f"{meta['date']}; {meta['machine']}; {meta.get('hosts', '')}; "
        f"load average (1/5/15 min) {meta['load_1_5_15_at_start']} at start, "
        f"{meta.get('load_1_5_15_at_end')} at end; `{meta['command']}`",
        "",
        "Versions: " + versions_line(meta.get("versions", {})),
    ]
    if notes:
        lines += ["", *notes]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
