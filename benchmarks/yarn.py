"""Benchmark on a real YARN cluster: our Spark template vs gateway_provisioners' YarnProvisioner.

    python -m benchmarks.yarn [--repeat 2] [--idle 10] [--only ours-yarn,gp-yarn]

Needs root (the cluster's NodeManagers live in the SSH test bed's network namespaces), Java
17, Maven (the Hadoop jars) and pyspark. One real Hadoop YARN cluster (testing/yarncluster) is
started for the whole run; each configuration gets its own `jupyter server` on loopback and
the same cluster:

* ``ours-yarn``: this extension and the shipped ``yarn_spark`` template, installed with
  ``jupyter remote-kernels install yarn --spark-home <pyspark>``;
* ``gp-yarn``: gateway_provisioners' ``yarn-provisioner`` with the kernelspec its own
  ``jupyter-yarn-spec install`` writes, served from its venv (``/tmp/gpvenv`` or
  ``--gp-python``: see ``GP_INSTALL``); skipped, saying why, when that venv is missing.
  Its server loads :mod:`benchmarks.gp_env` (kernel starts get an ``env``, as Enterprise
  Gateway gives them: GP's YarnProvisioner asserts one).

Each server reaches the ResourceManager through a counting proxy (on the RM's address), which is how
"RM requests per second" is measured: with 1 and with ``--idle`` idle kernels, over a window
of ``--window`` seconds. Start -> ready runs until the kernel answers an execute request
(median of ``--repeat``); restart and delete are the REST calls' durations. Writes
``yarn.md`` and ``yarn.json`` into ``--out``; exits non-zero when a configuration of ours
fails (its setup included, its server log is kept and named) or leaves a live application 5 s
after a restart (beyond the new one), a delete or its server's stop.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import requests

from testing.yarncluster import YarnTestCluster, spark_home

from .outcome import StepsMixin
from .server import HERE, Server, execute
from .yarn_outcome import failures, make_configs

CONFIGS = ("ours-yarn", "gp-yarn")
LIVE = ["NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING"]
GP_INSTALL = (
    "pip install 'gateway_provisioners[yarn]' jupyter_server ipykernel pycryptodomex pyspark"
)


class CountingProxy:
    """An HTTP proxy in front of the RM that counts the requests it forwards."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname, parts.port or 80)
        self.count = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _forward(self) -> None:
                with proxy.lock:
                    proxy.count += 1
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection(*proxy.target, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                    self.send_response(answer.status)
                    for key, value in answer.getheaders():
                        if key.lower() not in ("transfer-encoding", "connection"):
                            self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = _forward

        # On the RM's own address (the bed's bridge, this machine): a kernel's callback
        # address is this machine's address on the route to the RM endpoint.
        self.server = ThreadingHTTPServer((parts.hostname, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{parts.hostname}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def rate(self, seconds: float) -> float:
        """Requests per second over the next ``seconds``."""
        before = self.count
        time.sleep(seconds)
        return (self.count - before) / seconds

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ours_setup(yarn: YarnTestCluster, workdir: Path, endpoint: str) -> Path:
    """Our kernelspec, installed by our CLI; returns the Jupyter data dir holding it."""
    prefix = workdir / "prefix"
    yarn.install_spark_kernelspec(prefix, "ours-yarn", endpoint=endpoint)
    return prefix / "share" / "jupyter"


def gp_setup(yarn: YarnTestCluster, workdir: Path, gp_python: str) -> Path:
    """GP's own kernelspec for the cluster; FileNotFoundError when GP's venv is missing.

    Two things GP 0.5 needs on top of its installer (both found by issue 11's tests): its
    ``--yarn-endpoint`` option fails and leaves the template unfilled, so the endpoint goes
    to the server as $GP_YARN_ENDPOINT; its spec ships only ``launch_ipykernel.py`` to the
    container, so ``server_listener.py`` goes along with ``--py-files``. Its Python (the
    container's PYSPARK_PYTHON) needs pyspark: Spark's AM waits for a SparkContext.
    """
    probe = subprocess.run(
        [gp_python, "-c", "import gateway_provisioners, yarn_api_client, Cryptodome, pyspark"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if probe.returncode:
        msg = f"{gp_python} is missing or lacks a package: {GP_INSTALL}"
        raise FileNotFoundError(msg)
    prefix = workdir / "gpdata"
    app = Path(gp_python).parent / "jupyter-yarn-spec"
    root = str(Path(gp_python).parent.parent)
    spec_dir = prefix / "share" / "jupyter" / "kernels" / "gp-yarn"
    listener = spec_dir / "scripts" / "server_listener.py"
    done = subprocess.run(
        [str(app), "install", "--kernel-name", "gp-yarn", "--prefix", str(prefix),
         "--spark-home", str(spark_home()), "--python-root", root, "--spark-init-mode", "lazy",
         "--extra-spark-opts", f"{yarn.kernelspec_spark_opts()} --py-files {listener}",
         "--launch-timeout", "300"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode or not listener.exists():
        msg = f"jupyter-yarn-spec install failed: {(done.stderr or done.stdout).strip()[-400:]}"
        raise RuntimeError(msg)
    return prefix / "share" / "jupyter"


class Config(StepsMixin):
    """One configuration's server, its RM proxy and its kernels, for the whole run."""

    def __init__(self, name: str, yarn: YarnTestCluster, tmp: Path, options) -> None:
        self.name, self.options = name, options
        self.result: dict = {}
        self.kernels: list[str] = []
        self.yarn, self.started = yarn, set()  # every kernel id, for the leftover checks
        workdir = tmp / name
        workdir.mkdir()
        self.proxy = CountingProxy(yarn.rm_url)
        env = {"HADOOP_CONF_DIR": str(yarn.hadoop_conf_dir), "JAVA_HOME": str(yarn.java_home)}
        if name == "ours-yarn":
            data = ours_setup(yarn, workdir, self.proxy.url)
            self.server = Server(workdir, sys.executable, {}, {"jupyter_remote_kernels": True},
                                 env=env, data=data)  # fmt: skip
            return
        data = gp_setup(yarn, workdir, options.gp_python)
        env.update(
            GP_YARN_ENDPOINT=self.proxy.url,
            GP_RESPONSE_IP=yarn.rm_host,  # the containers reach this machine there
            GP_UNAUTHORIZED_USERS="nobody",  # its default (root) refuses a root server
        )
        # GP resolves the AM's host name (jrk-hostN) on the server: through the test bed's
        # hosts file in a mount namespace, so no lookup leaves this machine.
        hosts = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                 'mount --bind "$0" /etc/hosts && exec "$@"', str(yarn.bed.etc_hosts_path)]
        self.server = Server(workdir, options.gp_python, {}, {"benchmarks.gp_env": True},
                             env=env, data=data, prefix=hosts)  # fmt: skip

    def start(self, timed: bool = True) -> None:
        kernel_id, took = self.server.start(self.name, timeout=600)
        self.kernels.append(kernel_id)
        self.started.add(kernel_id)
        if timed:
            self.result.setdefault("starts", []).append(round(took, 2))

    def keep_one(self) -> None:
        for kernel_id in self.kernels[1:]:
            self.server.delete(kernel_id)
        del self.kernels[1:]

    def restart(self) -> None:
        t = time.monotonic()
        r = requests.post(f"{self.server.url}/api/kernels/{self.kernels[0]}/restart",
                          headers=self.server.headers, timeout=600)  # fmt: skip
        if r.status_code != 200:
            msg = f"restart: {r.status_code} {r.text[:300]}"
            raise RuntimeError(msg)
        ws = self.server.channel(self.kernels[0])
        try:
            execute(ws, "1", timeout=300)
        finally:
            ws.close()
        self.result.setdefault("restarts", []).append(round(time.monotonic() - t, 2))
        self.left("restart_apps_left_5s", {self.kernels[0]}, allowed=1)

    def live_apps(self, kernel_ids: set[str]) -> list[dict]:
        """Live applications of these kernels (their id in the name, ours, or the tags)."""
        return [
            app for app in self.yarn.apps(states=LIVE)
            if kernel_ids & {app.get("name", ""), *app.get("applicationTags", "").split(",")}
        ]  # fmt: skip

    def left(self, key: str, kernel_ids: set[str], allowed: int = 0) -> list[dict]:
        """Waits up to 5 s for at most ``allowed`` live applications of these kernels; the
        number above it is recorded under ``key`` (any fails the run)."""
        deadline = time.monotonic() + 5
        while len(apps := self.live_apps(kernel_ids)) > allowed and time.monotonic() < deadline:
            time.sleep(0.5)
        if len(apps) > allowed:
            self.result[key] = self.result.get(key, 0) + len(apps) - allowed
        return apps

    def delete_all(self) -> None:
        times = [self.server.delete(k) for k in self.kernels]
        self.result.setdefault("deletes", []).extend(round(t, 2) for t in times)
        self.left("delete_apps_left_5s", set(self.kernels))
        self.kernels.clear()

    def close(self, yarn: YarnTestCluster) -> None:
        self.server.stop()
        self.proxy.close()
        for app in self.left("stop_apps_left_5s", self.started):
            yarn.kill(app["id"])


def rates(configs: list[Config], seconds: float, key: str) -> None:
    """RM requests per second of each configuration (each has its own proxy), one window."""
    configs = [c for c in configs if "failed" not in c.result]
    before = {c.name: c.proxy.count for c in configs}
    time.sleep(seconds)
    for c in configs:
        c.result[key] = round((c.proxy.count - before[c.name]) / seconds, 2)


def run(configs: list[Config], options) -> None:
    """The timed steps of the configurations take turns in a rotating order, so that none
    always meets the machine's load first or last. N idle kernels are held by one
    configuration at a time (the cluster's memory)."""

    def turns(i: int) -> list[Config]:
        k = i % max(1, len(configs))
        return configs[k:] + configs[:k]

    for i in range(options.repeat):
        for c in turns(i):
            c.step(Config.start)
    for c in configs:
        c.step(Config.keep_one)
    time.sleep(options.window / 2)
    rates(configs, options.window, "rm_req_per_s_1")
    for i in range(options.repeat):
        for c in turns(i):
            c.step(Config.restart)
    for c in configs:
        for _ in range(options.idle - 1):
            c.step(Config.start, False)
        time.sleep(options.window / 2)
        rates([c], options.window, f"rm_req_per_s_{options.idle}")
        c.step(Config.delete_all)
    for c in configs:
        for key, values in (("start_s", "starts"), ("restart_s", "restarts"),
                            ("delete_s", "deletes")):  # fmt: skip
            if values in c.result:
                c.result[key] = round(statistics.median(c.result.pop(values)), 2)


COLUMNS = [
    ("start_s", "start→ready s"),
    ("restart_s", "restart s"),
    ("delete_s", "delete s"),
    ("rm_req_per_s_1", "RM req/s, 1 idle kernel"),
    ("rm_req_per_s_N", "RM req/s, N idle kernels"),
]


def write(meta: dict, results: dict, out: Path, idle: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "yarn.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    lines = [f"# YARN benchmark ({meta['date']})", "", f"N = {idle}.", ""]
    lines.append("| config | " + " | ".join(title for _, title in COLUMNS) + " |")
    lines.append("|---" * (len(COLUMNS) + 1) + "|")
    for name, res in results.items():
        if "start_s" not in res:
            lines.append(f"| {name} | {res.get('skipped') or res.get('failed')} |")
            continue
        row = dict(res, rm_req_per_s_N=res.get(f"rm_req_per_s_{idle}"))
        lines.append(f"| {name} | " + " | ".join(str(row.get(k)) for k, _ in COLUMNS) + " |")
    ours, peer = results.get("ours-yarn", {}), results.get("gp-yarn", {})
    if "start_s" in ours and "start_s" in peer:
        lines += ["", "gp-yarn / ours-yarn:", ""]
        for column, title in COLUMNS:
            key = column.replace("_N", f"_{idle}")
            if ours.get(key):
                lines.append(f"* {title}: {peer[key] / ours[key]:.2f}x")
    (out / "yarn.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--idle", type=int, default=10)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--gp-python", default="/tmp/gpvenv/bin/python")
    parser.add_argument("--only", default=",".join(CONFIGS))
    parser.add_argument(
        "--nm-memory-mb",
        type=int,
        default=12288,
        help="memory each NodeManager offers (N idle Spark kernels hold 2N containers)",
    )
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    names = [n.strip() for n in options.only.split(",") if n.strip()]
    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "python -m benchmarks.yarn " + " ".join(sys.argv[1:]),
        "load_1_5_15_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    results: dict = {}
    # SIGTERM ends the run like Ctrl-C: the cluster and the servers are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cluster = YarnTestCluster(nm_memory_mb=options.nm_memory_mb)
    with tempfile.TemporaryDirectory() as tmp, cluster as yarn:
        meta["cluster"] = f"Hadoop YARN, {len(yarn.hosts)} NodeManagers, pyspark {spark_home()}"
        configs = []
        try:
            configs = make_configs(names, lambda name: Config(name, yarn, Path(tmp), options),
                                   results)  # fmt: skip
            run(configs, options)
        finally:
            for c in configs:
                c.close(yarn)
                results[c.name] = c.result
                print(c.name, c.result, flush=True)
    meta["load_1_5_15_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write(meta, results, options.out, options.idle)
    return 1 if failures(results) else 0


if __name__ == "__main__":
    sys.exit(main())
