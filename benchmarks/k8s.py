"""Benchmark on a real Kubernetes cluster: our kernels as pods vs plain local ipykernel and
gateway_provisioners' KubernetesProvisioner.

    python -m benchmarks.k8s [--repeat 3] [--idle 20] [--burst 5] [--window 20]
                             [--only plain,ours-k8s,gp-k8s]

Needs root and the real Kubernetes test cluster's parts (``python -m testing.k8scluster
build``); one cluster (testing/k8scluster) is started for the whole run. Each configuration
gets its own ``jupyter server`` on the cluster's bridge address (kernel pods call back there)
and its own client certificate (``K8sTestCluster.client_kubeconfig``), so the API server's
audit log tells its requests from everyone else's:

* ``plain``: a stock Jupyter Server with ``ipykernel_launcher`` on this machine (the
  reference every ratio is taken against);
* ``ours-k8s``: this extension, kernels as pods of the plain Python + ipykernel image (the
  launcher delivered by the backend), and the same kernelspec with ``pool_size`` 2 for the
  pooled start;
* ``gp-k8s``: gateway_provisioners 0.5's ``kubernetes-provisioner`` with the kernelspec its
  ``jupyter-k8s-spec install`` writes, on an image with GP's launcher baked in (built here by
  :mod:`testing.k8scluster.gpimage` and imported into the run's cluster), served by the same
  Python with ``$JRK_GP_DIR`` (``/opt/jrk-gp``) and GP's ``kubernetes`` client
  (``--gp-client``, see ``GP_CLIENT_INSTALL``) on its path; skipped, saying why, when missing.

Measured (medians of ``--repeat``): cold start (POST /api/kernels → first execute reply),
pooled start (ours), the longest event-loop lag inside the server (:mod:`benchmarks.lagprobe`)
during ``--burst`` concurrent starts, API requests per second from the server with 1 and with
``--idle`` idle kernels over ``--window`` seconds (counted at the API server), delete, and the
pods of the configuration left 5 s after delete and after its server's SIGTERM. Every figure
is also given as a ratio to ``plain``. Writes ``k8s.md`` and ``k8s.json`` into ``--out``;
exits 1 when ``plain`` or ours fails or leaves a pod.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import sys
import tempfile
from pathlib import Path

from testing.k8scluster import K8S_VERSION, K8sTestCluster

from . import outcome
from .k8s_configs import CONFIGS, GP_CLIENT_DIR, OPTIONAL, Config, make_config
from .server import HERE

COLUMNS = [
    ("start_s", "cold start s"),
    ("pool_start_s", "pooled start s"),
    ("burst_lag_ms", "max loop lag ms (burst)"),
    ("burst_s", "burst wall s"),
    ("api_req_s_1", "API req/s, 1 idle"),
    ("api_req_s_N", "API req/s, N idle"),
    ("delete_s", "delete s"),
    ("left", "pods left delete/stop"),
]
RATIOS = [("start_s", "cold start"), ("pool_start_s", "pooled start"),
          ("burst_lag_ms", "loop lag (burst)"), ("burst_s", "burst wall")]


def run(configs: list[Config], options) -> None:
    """Every step for every configuration, the configurations taking turns in a rotating
    order (cold and pooled starts); the idle-kernel windows one configuration at a time."""
    for i in range(options.repeat):
        k = i % len(configs)
        for c in configs[k:] + configs[:k]:
            c.step(Config.cold_start)
            c.step(Config.pooled_start)
    for c in configs:
        c.step(Config.burst, options.burst)
    for c in configs:
        c.step(Config.idle_rates, options.idle, options.window)


def write(meta: dict, results: dict, out: Path, idle: int) -> str:
    out.mkdir(parents=True, exist_ok=True)
    (out / "k8s.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    lines = [f"# Kubernetes benchmark ({meta['date']})", "", f"N = {idle}. {meta['cluster']}.",
             "", "| config | " + " | ".join(t for _, t in COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 1) + "|"]
    for name, res in results.items():
        if "start_s" not in res:
            lines.append(f"| {name} | {res.get('skipped') or res.get('failed')} |")
            continue
        row = dict(res, api_req_s_N=res.get(f"api_req_s_{idle}"),
                   left=f"{res.get('delete_pods_left_5s', 0)}/{res.get('stop_pods_left_5s', 0)}")
        lines.append(f"| {name} | " + " | ".join(
            "-" if row.get(k) is None else str(row[k]) for k, _ in COLUMNS) + " |")
    plain = results.get("plain", {})
    if "start_s" in plain:
        lines += ["", "Against `plain` (local ipykernel, stock server) in the same run:", "",
                  "| config | " + " | ".join(t for _, t in RATIOS) + " |",
                  "|---" * (len(RATIOS) + 1) + "|"]
        for name, res in results.items():
            if name == "plain" or "start_s" not in res:
                continue
            cells = []
            for key, _ in RATIOS:
                base = plain.get("start_s" if key == "pool_start_s" else key)
                cells.append(f"{res[key] / base:.2f}x" if res.get(key) and base else "-")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines += ["", "(pooled start against plain's cold start)"]
    text = "\n".join(lines) + "\n"
    (out / "k8s.md").write_text(text)
    print(text)
    return text


def failures(results: dict) -> list[str]:
    """The configurations that fail the run (:func:`.outcome.failures`); the optional
    peer's (``gp-k8s``) are reported, not fatal."""
    return outcome.failures(results, OPTIONAL)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--idle", type=int, default=20)
    parser.add_argument("--burst", type=int, default=5)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--gp-client", type=Path, default=GP_CLIENT_DIR,
                        help="folder with GP's kubernetes client (pip --target)")
    parser.add_argument("--only", default=",".join(CONFIGS))
    options = parser.parse_args()
    names = [n.strip() for n in options.only.split(",") if n.strip()]
    unknown = set(names) - set(CONFIGS)
    if unknown or min(options.repeat, options.idle, options.burst) < 1:
        parser.error(f"unknown configurations {sorted(unknown)} or a count below 1")
    options.out.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "python -m benchmarks.k8s " + " ".join(sys.argv[1:]),
        "machine": f"{os.cpu_count()} CPUs",
        "load_1_5_15_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    results: dict = {}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory() as tmp, K8sTestCluster(label="benchmark") as cluster:
        meta["cluster"] = (f"Kubernetes {K8S_VERSION}, one node (containerd + runc), "
                           f"started in {cluster.startup_seconds:.0f} s")
        configs: list[Config] = []
        try:
            for name in names:
                config = make_config(name, cluster, Path(tmp), options, results)
                if config is not None:
                    configs.append(config)
            if configs:
                run(configs, options)
        finally:
            for c in configs:
                c.close()
                results[c.name] = c.summary()
                print(c.name, results[c.name], flush=True)
    meta["load_1_5_15_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write(meta, results, options.out, options.idle)
    return 1 if failures(results) else 0


if __name__ == "__main__":
    sys.exit(main())
