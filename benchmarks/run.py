"""Benchmark: plain ipykernel vs our local and ssh kernels (vs gateway_provisioners if found).

    python -m benchmarks.run [--repeat 5] [--out benchmarks/results]

Needs root (the SSH test bed's network-namespace hosts). Each configuration gets its own
`jupyter server` process on loopback; kernels run on this machine or on the bed's hosts.
gateway_provisioners is used from its own venv (``/tmp/gpvenv``, or ``--gp-python``) when
that exists, else skipped. Every wait is bounded; writes ``results.md`` and ``results.json``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
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

from tests.kernels import pids_mentioning, shipped_local_spec, write_kernelspec
from tests.ssh_helpers import REMOTE_PYTHON, ssh_spec
from tests.sshbed import SSHTestBed

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One `jupyter server` process with the given kernelspecs."""

    def __init__(self, workdir: Path, python: str, specs: dict, extra: list[str]) -> None:
        for name, spec in specs.items():
            write_kernelspec(workdir / "data" / "kernels", name, spec)
        self.port, self.token = free_port(), uuid.uuid4().hex
        env = dict(os.environ, JUPYTER_PATH=str(workdir / "data"),
                   JUPYTER_RUNTIME_DIR=str(workdir / "rt"),
                   JUPYTER_CONFIG_DIR=str(workdir / "cfg"))
        self.proc = subprocess.Popen(
            [python, "-m", "jupyter_server", "--allow-root", "--no-browser",
             f"--port={self.port}", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={workdir}", *extra],
            env=env, stdout=subprocess.DEVNULL, stderr=open(workdir / "server.log", "w"),  # noqa: SIM115
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.headers = {"Authorization": f"token {self.token}"}
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{self.url}/api/status", headers=self.headers, timeout=2)
                return
            except requests.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    msg = f"server did not start; see {workdir / 'server.log'}"
                    raise RuntimeError(msg) from None
                time.sleep(0.2)

    def start(self, name: str) -> tuple[str, float]:
        t = time.monotonic()
        r = requests.post(f"{self.url}/api/kernels", headers=self.headers, timeout=120,
                          data=json.dumps({"name": name}))
        r.raise_for_status()
        kernel_id = r.json()["id"]
        ws = self.channel(kernel_id)
        execute(ws, "1")  # ready = answers an execute
        ws.close()
        return kernel_id, time.monotonic() - t

    def channel(self, kernel_id: str):
        url = self.url.replace("http", "ws") + f"/api/kernels/{kernel_id}/channels"
        return websocket.create_connection(url, header=[f"Authorization: token {self.token}"],
                                           timeout=60)

    def delete(self, kernel_id: str) -> float:
        t = time.monotonic()
        requests.delete(f"{self.url}/api/kernels/{kernel_id}", headers=self.headers, timeout=60)
        return time.monotonic() - t

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def execute(ws, code: str, timeout: float = 60) -> dict:
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "b",
                   "session": uuid.uuid4().hex, "date": "", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False}}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = json.loads(ws.recv())
        if m.get("parent_header", {}).get("msg_id") == msg_id and m["msg_type"] == "execute_reply":
            return m["content"]
    raise TimeoutError(code)


def alive(kernel_ids: list[str]) -> int:
    return sum(len(pids_mentioning(k)) for k in kernel_ids)


def poll_status(server: Server, stop: threading.Event, out: list) -> None:
    while not stop.is_set():
        t = time.monotonic()
        try:
            requests.get(f"{server.url}/api/status", headers=server.headers, timeout=30)
        except requests.RequestException:
            pass
        out.append(time.monotonic() - t)
        time.sleep(0.02)


def concurrent_starts(server: Server, name: str, n: int) -> tuple[float, float, list[str]]:
    stop, lat = threading.Event(), []
    poller = threading.Thread(target=poll_status, args=(server, stop, lat), daemon=True)
    poller.start()
    t = time.monotonic()
    with cf.ThreadPoolExecutor(n) as pool:
        ids = [kid for kid, _ in pool.map(lambda _: server.start(name), range(n))]
    wall = time.monotonic() - t
    stop.set()
    poller.join(35)
    return wall, max(lat or [0.0]), ids


def measure(server: Server, name: str, repeat: int) -> dict:
    res: dict = {}
    starts, ids = [], []
    for _ in range(repeat):
        kid, dt = server.start(name)
        starts.append(dt)
        ids.append(kid)
    res["start_s"] = statistics.median(starts)
    ws = server.channel(ids[0])
    rtts = []
    for _ in range(10):
        t = time.monotonic()
        execute(ws, "1+1")
        rtts.append(time.monotonic() - t)
    res["execute_ms"] = statistics.median(rtts) * 1000
    ints = []
    for _ in range(3):
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "b",
                       "session": "s", "date": "", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
            "content": {"code": "import time; time.sleep(30)", "silent": False}}))
        time.sleep(0.3)
        t = time.monotonic()
        requests.post(f"{server.url}/api/kernels/{ids[0]}/interrupt", headers=server.headers,
                      timeout=30)
        while True:
            m = json.loads(ws.recv())
            if m.get("parent_header", {}).get("msg_id") == msg_id and (
                m["msg_type"] == "execute_reply"
            ):
                break
        ints.append(time.monotonic() - t)
    ws.close()
    res["interrupt_ms"] = statistics.median(ints) * 1000
    base_rss = server.rss_mb()
    res["restart_left_5s"] = 0
    old = pids_mentioning(ids[0])
    requests.post(f"{server.url}/api/kernels/{ids[0]}/restart", headers=server.headers, timeout=60)
    time.sleep(5)
    res["restart_left_5s"] = len([p for p in old if p in pids_mentioning(ids[0])])
    shut = [server.delete(k) for k in ids]
    res["shutdown_s"] = statistics.median(shut)
    time.sleep(5)
    res["delete_left_5s"] = alive(ids)
    for n in (10, 20):
        wall, stall, cids = concurrent_starts(server, name, n)
        res[f"concurrent{n}_s"] = wall
        res[f"status_max_ms_{n}"] = stall * 1000
        if n == 10:
            res["rss_per_kernel_mb"] = (server.rss_mb() - base_rss) / n
        for k in cids:
            server.delete(k)
    return res


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--gp-python", default="/tmp/gpvenv/bin/python")
    options = parser.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp, SSHTestBed(2, Path(tmp) / "bed") as bed:
        plain = {"argv": [REMOTE_PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                 "display_name": "plain", "language": "python"}
        specs = {"plain": plain, "ours-local": shipped_local_spec(), "ours-ssh": ssh_spec(bed)}
        configs = [(name, sys.executable, specs,
                    ["--ServerApp.jpserver_extensions={'jupyter_remote_kernels': True}"])
                   for name in specs]
        if Path(options.gp_python).exists():
            # TODO: a gateway_provisioners distributed-provisioner kernelspec for the bed
            # (its launcher, known_hosts and key); not wired up yet.
            results["gp-ssh"] = {"skipped": "gateway_provisioners found; its spec is not wired up"}
        else:
            results["gp-ssh"] = {"skipped": f"no {options.gp_python}"}
        for name, python, config_specs, extra in configs:
            workdir = Path(tmp) / name
            workdir.mkdir()
            try:
                server = Server(workdir, python, {name: config_specs[name]}, extra)
            except Exception as exc:
                results[name] = {"skipped": str(exc)}
                continue
            try:
                results[name] = measure(server, name, options.repeat)
            except Exception as exc:
                results[name] = {"skipped": f"{type(exc).__name__}: {exc}"}
            finally:
                server.stop()
                time.sleep(5)
                results[name]["stop_left_5s"] = sum(len(h.pids(exclude_sshd=True))
                                                    for h in bed.hosts)
            print(name, results[name], flush=True)
    write(results, Path(options.out))


COLUMNS = [("start_s", "start→ready s"), ("execute_ms", "execute ms"),
           ("interrupt_ms", "interrupt ms"), ("shutdown_s", "shutdown s"),
           ("concurrent10_s", "10 starts s"), ("concurrent20_s", "20 starts s"),
           ("status_max_ms_20", "max /api/status ms (20 starts)"),
           ("rss_per_kernel_mb", "server MB/kernel"), ("delete_left_5s", "left 5 s after delete"),
           ("restart_left_5s", "left after restart"), ("stop_left_5s", "left after stop")]


def write(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    lines = ["| config | " + " | ".join(t for _, t in COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 1) + "|"]
    for name, res in results.items():
        if "skipped" in res and len(res) <= 2:
            lines.append(f"| {name} | skipped: {res['skipped'][:80]} |")
            continue
        cells = [f"{res[k]:.2f}" if isinstance(res.get(k), float) else str(res.get(k, "-"))
                 for k, _ in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    local, ssh = results.get("ours-local", {}), results.get("ours-ssh", {})
    if "start_s" in local and "start_s" in ssh:
        lines += ["", f"ssh - local start: {ssh['start_s'] - local['start_s']:+.2f} s; "
                  "10 concurrent ssh/local: "
                  f"{ssh['concurrent10_s'] / local['concurrent10_s']:.2f}x; "
                  f"/api/status stall ssh/local (20 starts): "
                  f"{ssh['status_max_ms_20'] / max(local['status_max_ms_20'], 1):.2f}x; "
                  f"execute ssh/local: {ssh['execute_ms'] / local['execute_ms']:.2f}x; "
                  f"interrupt ssh/local: {ssh['interrupt_ms'] / local['interrupt_ms']:.2f}x"]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
