"""Benchmark: plain ipykernel vs our local, ssh and Slurm kernels vs gateway_provisioners' SSH.

    python -m benchmarks.run [--repeat 5] [--only plain,ours-ssh] [--out benchmarks/results]

Needs root (the SSH test bed's network-namespace hosts). All configurations run in one go,
one after the other, on the same bed hosts; each gets its own `jupyter server` process on
loopback:

* ``plain``: a stock Jupyter Server (no extension of ours) with ipykernel_launcher;
* ``ours-local``: this extension, the shipped local kernelspec (launcher on this machine);
* ``ours-ssh``: this extension, an ssh kernelspec over the bed's two hosts, both
  ``slow_shell`` hosts (their ~/.bashrc takes 0.3 s, as `pyenv init`, conda's or Lmod's
  init do on real hosts: every SSH session pays it);
* ``ours-slurm``: this extension, the shipped slurm template on a real Slurm cluster
  (testing/slurmcluster: slurmctld here, one slurmd in each of its own two namespace
  hosts; partition ``shared``, whose CPUs take many jobs at once), started for the run;
* ``gp-ssh``: gateway_provisioners' DistributedProvisioner, served from its own venv
  (``/tmp/gpvenv`` or ``--gp-python``: ``pip install gateway_provisioners jupyter_server
  ipykernel pycryptodomex``), a kernelspec made by its ``jupyter-ssh-spec install`` for the
  same hosts; skipped, with the reason, when that venv is missing or incomplete;
* the warm pool parts (issue 15, :mod:`benchmarks.pools`), run once each after the
  configurations above: ``pool-local``, ``pool-ssh``, ``pool-yarn`` (the real YARN test
  cluster of testing/yarncluster, for that part only), ``pool-slurm`` (the
  run's Slurm cluster) compare start -> first reply from a warm pool (pool_size 2) with a
  plain ipykernel cold start and a cold start of the same placement; ``pool-refill`` times
  the refill of a pool of 10 after 10 concurrent starts. ``--only pools`` selects all five;
  they are not in the default selection (``pool-yarn`` needs Java, Maven and pyspark).

The table compares every configuration against ``plain`` (start time difference, ratios of
the rest). Every server also loads :mod:`benchmarks.lagprobe` (event-loop lag probe). Every wait is
bounded; writes ``results.md`` and ``results.json`` into ``--out``, with the versions run
(Python, jupyter_server, jupyter_client, ipykernel, this package's git revision, GP's).

``--trials N`` runs every configuration N times, rotating their order (trial 1: a, b, c;
trial 2: b, c, a; ...) so that no configuration always meets the same load; each trial is
a fresh server with the sequential measurements and one burst of 10 and of 20 concurrent
starts, and the table shows medians over the trials.

Exit status: 1 when ``plain`` or a configuration of this project failed (a server that
did not start, a start, execute, interrupt or restart that failed, an interrupt that did
not interrupt, a failed concurrent start: its server log is kept and its path printed) or
left kernel processes, YARN applications or Slurm jobs 5 s after a restart, delete or
server stop. Only the optional peer (``gp-ssh``)
is skipped, saying why, when its venv is missing; a failure of the peer once it runs is
reported, not fatal. Before anything runs, the Python the kernels use must import
ipykernel, else the run stops at once (exit 1) saying what to install.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from testing.slurmcluster import SlurmTestCluster
from testing.specs import REMOTE_PYTHON
from testing.sshbed import SSHTestBed

from . import outcome
from .pools import PARTS as POOL_PARTS
from .pools import PoolRun, run_part
from .report import git_revision, python_versions, write
from .server import HERE
from .trials import combine, run_trial

CONFIGS = ("plain", "ours-local", "ours-ssh", "ours-slurm", "gp-ssh")
PARTS = CONFIGS + POOL_PARTS
OPTIONAL = ("gp-ssh",)  # peers that may be absent; everything else must run


def preflight(names: list[str]) -> None:
    """Stop at once, with what to do, when the kernels' Python cannot run ipykernel.

    ``plain`` and ``ours-ssh`` run kernels with :data:`REMOTE_PYTHON` (this interpreter; the
    bed's hosts share this machine's files), ``ours-local`` with the shipped spec's python.
    """
    if not {"plain", "ours-local", "ours-ssh", "ours-slurm", *POOL_PARTS} & set(names):
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


def failures(results: dict) -> list[str]:
    """The configurations and parts that fail the run (:func:`.outcome.failures`); the
    optional peer's (``gp-ssh``) are reported, not fatal."""
    return outcome.failures(results, OPTIONAL)


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
    parser.add_argument(
        "--cluster-repeat",
        type=int,
        default=3,
        help="rounds of the pool-yarn and pool-slurm parts (each round: a warm, a plain and "
        "a cold start) and bursts of pool-refill; pool-local and pool-ssh run --repeat rounds",
    )
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--gp-python", default="/tmp/gpvenv/bin/python")
    parser.add_argument(
        "--only",
        default=",".join(CONFIGS),
        help="comma-separated configurations and parts: "
        + ", ".join(PARTS)
        + "; 'pools' stands for all pool-* parts",
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
    names = [p for n in names for p in (POOL_PARTS if n == "pools" else [n])]
    names = list(dict.fromkeys(names))
    unknown = set(names) - set(PARTS)
    if unknown:
        parser.error(f"unknown configurations: {', '.join(sorted(unknown))}")
    pool_parts = [n for n in names if n in POOL_PARTS]
    names = [n for n in names if n not in POOL_PARTS]
    if min(options.trials, options.repeat, options.cluster_repeat) < 1:
        parser.error("--trials, --repeat and --cluster-repeat must be at least 1")
    preflight(names + pool_parts)
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
        "cluster_repeat": options.cluster_repeat,
        "trials": options.trials,
        "command": "python -m benchmarks.run " + " ".join(sys.argv[1:]),
        "versions": {
            "server": python_versions(sys.executable),
            "kernels": python_versions(REMOTE_PYTHON),
            "jupyter_remote_kernels": git_revision(),
        },
    }
    if pool_parts:
        meta["pool_parts"] = pool_parts
    if "gp-ssh" in names and Path(options.gp_python).exists():
        meta["versions"]["gp-ssh"] = python_versions(options.gp_python)
    per_trial: dict = {name: [] for name in names}
    order_log = []
    pool_results: dict = {}
    # SIGTERM ends the run like Ctrl-C: servers, clusters and the bed are stopped on the way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        # Hosts as real ones: a login shell that does work (pyenv/conda/module init).
        bed = stack.enter_context(
            SSHTestBed(0, Path(tmp) / "bed", extra_hosts=("slow_shell",) * 2)
        )
        meta["hosts"] = f"{len(bed.hosts)} sshd hosts ({bed.mode}, slow login shell)"
        options.slurm_cluster = None
        if {"ours-slurm", "pool-slurm"} & {*names, *pool_parts}:
            options.slurm_cluster = stack.enter_context(
                SlurmTestCluster(workdir=Path(tmp) / "slurm", label="benchmark")
            )
            meta["hosts"] += ", a Slurm cluster (slurmctld + 2 slurmd hosts, 1 CPU each)"
        for trial in range(options.trials if names else 0):
            order = names[trial % len(names) :] + names[: trial % len(names)]
            order_log.append(order)
            for name in order:
                if per_trial[name] and "absent" in per_trial[name][-1]:
                    continue  # an absent peer stays absent
                result = run_trial(name, trial, Path(tmp), bed, options)
                per_trial[name].append(result)
                print(f"trial {trial + 1} {name}", result, flush=True)
        if pool_parts:
            pool_run = PoolRun(Path(tmp), bed, options)
            stack.callback(pool_run.close)
            for name in pool_parts:
                pool_results[name] = run_part(name, pool_run)
                print(name, pool_results[name], flush=True)
    meta["order"] = order_log
    meta["load_1_5_15_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results = {name: combine(per_trial[name]) for name in names}
    write(meta, results, Path(options.out), pool_results)
    failed = failures({**results, **pool_results})
    kept = any("log" in r for r in pool_results.values())
    if made_failed_logs and not kept and not any("error" in r for r in results.values()):
        shutil.rmtree(options.failed_logs, ignore_errors=True)
    if failed:
        print(f"benchmark FAILED: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
