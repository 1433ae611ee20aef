"""Benchmark: an R kernel (IRkernel) started by plain jupyter_client vs through this project.

    python -m benchmarks.rkernel [--repeat 5] [--out benchmarks/results]

Needs root (the SSH test bed's network-namespace hosts), R and r-cran-irkernel. In one run,
one configuration after the other, each with its own ``jupyter server`` process:

* ``r-plain``: a stock Jupyter Server (no extension of ours) with IRkernel's own kernelspec
  argv: jupyter_client's local provisioner starts R on this machine;
* ``r-ours-local``: this extension, the local launcher with ``kernel_argv`` = IRkernel's argv;
* ``r-ours-ssh``: this extension, an ssh kernelspec (the same ``kernel_argv``) over two bed
  hosts with a slow login shell (0.3 s, as pyenv/conda/Lmod init on real hosts).

Start -> ready is the time from ``POST /api/kernels`` to the first execute reply of the new
kernel (median, min, max over ``--repeat`` starts). Every kernel is deleted; a kernel
process (R, or a launcher) of the run still alive 5 s later fails the run (exit 1), as does
any failed start. Writes ``rkernel.md`` and ``rkernel.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from testing.specs import pids_mentioning, ssh_spec
from testing.sshbed import SSHTestBed

from .report import git_revision
from .server import HERE, Server

IR_ARGV = ["R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"]
CONFIGS = ("r-plain", "r-ours-local", "r-ours-ssh")
OURS = {"jupyter_remote_kernels": True}


def spec_for(name: str, bed: SSHTestBed) -> tuple[dict, dict]:
    """The kernelspec of configuration ``name`` and the server extensions it runs with."""
    if name == "r-plain":
        return {"argv": IR_ARGV, "display_name": "R", "language": "R"}, {}
    if name == "r-ours-local":
        spec = {
            "argv": [sys.executable, "{launcher}", "--kernel-id", "{kernel_id}",
                     "--response-address", "{response_address}"],
            "display_name": "R (local)",
            "language": "R",
            "metadata": {"process_proxy": {"class_name": "local",
                                           "config": {"kernel_argv": IR_ARGV}}},
        }
        return spec, OURS
    return {**ssh_spec(bed, kernel_argv=IR_ARGV), "language": "R"}, OURS


def run_config(name: str, workdir: Path, bed: SSHTestBed, repeat: int) -> dict:
    spec, extensions = spec_for(name, bed)
    server = Server(workdir, sys.executable, {name: spec}, extensions)
    ids: list[str] = []
    try:
        starts = []
        for _ in range(repeat):
            kernel_id, seconds = server.start(name)
            ids.append(kernel_id)
            starts.append(seconds)
            server.delete(kernel_id)
        time.sleep(5)
        left = sum(len(pids_mentioning(k)) for k in ids)
        return {
            "start_s": statistics.median(starts),
            "start_min_s": min(starts),
            "start_max_s": max(starts),
            "starts": len(starts),
            "delete_left_5s": left,
        }
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:600], "log": str(server.log_path)}
    finally:
        server.stop()


def r_versions() -> dict:
    code = "cat(R.version.string, as.character(packageVersion('IRkernel')), sep='|')"
    done = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True,
                          timeout=60, check=False)
    r, _, irkernel = done.stdout.partition("|")
    return {"R": r or "missing", "IRkernel": irkernel or "missing"}


def write(meta: dict, results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "rkernel.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    plain = results.get("r-plain", {}).get("start_s")
    lines = [
        "# R kernel (IRkernel) start -> ready", "",
        f"{meta['date']}, {meta['machine']} (1-min load {meta['load_1min_at_start']} at start, "
        f"{meta['load_1min_at_end']} at end); {meta['versions']}; {meta['hosts']}; "
        f"`{meta['command']}`", "",
        "| configuration | start -> ready (median) | min | max | vs r-plain "
        "| left 5 s after delete |",
        "|---|---|---|---|---|---|",
    ]
    for name, res in results.items():
        if "error" in res:
            lines.append(f"| {name} | FAILED: {res['error']} | | | | |")
            continue
        diff = f"+{res['start_s'] - plain:.2f} s" if plain is not None else "-"
        lines.append(
            f"| {name} | {res['start_s']:.2f} s | {res['start_min_s']:.2f} s | "
            f"{res['start_max_s']:.2f} s | {diff} | {res['delete_left_5s']} |"
        )
    (out / "rkernel.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--only", default=",".join(CONFIGS))
    options = parser.parse_args()
    names = [n for n in options.only.split(",") if n]
    unknown = set(names) - set(CONFIGS)
    if unknown or options.repeat < 1:
        parser.error(f"configurations: {', '.join(CONFIGS)}; --repeat at least 1")
    versions = r_versions()
    if "missing" in versions.values():
        print(f"benchmark cannot run: R or IRkernel missing ({versions}); "
              "apt-get install r-base-core r-cran-irkernel", file=sys.stderr)
        sys.exit(1)
    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": f"{platform.node()}, {os.cpu_count()} CPUs",
        "load_1min_at_start": round(os.getloadavg()[0], 2),
        "versions": {**versions, "jupyter_remote_kernels": git_revision()},
        "command": "python -m benchmarks.rkernel " + " ".join(sys.argv[1:]),
    }
    results = {}
    with tempfile.TemporaryDirectory() as tmp, SSHTestBed(
        0, Path(tmp) / "bed", extra_hosts=("slow_shell",) * 2
    ) as bed:
        meta["hosts"] = f"{len(bed.hosts)} sshd hosts ({bed.mode}, slow login shell)"
        for name in names:
            workdir = Path(tmp) / name
            workdir.mkdir()
            results[name] = run_config(name, workdir, bed, options.repeat)
            print(name, results[name], flush=True)
    meta["load_1min_at_end"] = round(os.getloadavg()[0], 2)
    write(meta, results, Path(options.out))
    failed = [n for n, r in results.items() if "error" in r or r.get("delete_left_5s")]
    if failed:
        print(f"benchmark FAILED: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
