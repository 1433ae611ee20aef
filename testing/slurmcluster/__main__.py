"""Run the real Slurm test cluster by hand.

    python -m testing.slurmcluster up        # start; prints how to use it; Ctrl-C stops it
    python -m testing.slurmcluster status    # clusters running on this machine
    python -m testing.slurmcluster down      # stop the clusters started with `up`

Needs root (the nodes' slurmd live in network namespaces), sshd and Debian's slurmctld,
slurmd, slurm-client and munge.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from .cluster import SlurmTestCluster
from .deps import SlurmClusterError, binary
from .procs import cleanup_stale, recorded_clusters

CLI_LABEL = "cli"


def _usage(cluster: SlurmTestCluster) -> str:
    return "\n".join([
        f"slurmctld         {cluster.ctld_address}:{cluster.ports['ctld']}  "
        f"(log {cluster.ctld_log})",
        f"started in        {cluster.startup_seconds:.1f} s",
        "nodes             " + ", ".join(
            f"{h.hostname} ({h.name}, {h.address})" for h in cluster.hosts),
        "partitions        debug (default, no time limit), short (5 minutes)",
        f"ssh to a node     ssh -F {cluster.bed.ssh_config_path} h1",
        "",
        "# every Slurm command needs this (it names the controller and munged's socket):",
        f"export SLURM_CONF={cluster.slurm_conf}",
        "sinfo; sbatch --wrap 'hostname; sleep 30'; squeue",
        "",
        "Ctrl-C or `python -m testing.slurmcluster down` stops everything.",
    ])


def cmd_up(args) -> int:
    def _stop(signum, frame):
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)
    cluster = SlurmTestCluster(n_hosts=args.hosts, label=CLI_LABEL)
    try:
        cluster.start()
        print(_usage(cluster), flush=True)
        while True:
            time.sleep(1)
            cluster.check_alive()
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    except SlurmClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        cluster.stop()
    print("stopped: no daemon, job or host left.")
    return 0


def cmd_down(args) -> int:
    clusters = [c for c in recorded_clusters() if c.get("label") == CLI_LABEL]
    for state in clusters:
        os.kill(state["owner_pid"], signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not {c["id"] for c in recorded_clusters()} & {c["id"] for c in clusters}:
            break
        time.sleep(0.2)
    else:
        print("error: a cluster did not stop within 60 s", file=sys.stderr)
        return 1
    cleaned = cleanup_stale()
    print(f"stopped {len(clusters)} cluster(s)"
          + (f"; cleaned leftovers of {cleaned}" if cleaned else ""))
    return 0


def cmd_status(args) -> int:
    clusters = recorded_clusters()
    if not clusters:
        print("no Slurm test cluster is running")
    for state in clusters:
        print(f"cluster {state['id']} ({state.get('label') or 'tests'}, owner pid "
              f"{state['owner_pid']}): {state.get('slurm_conf', 'starting')}")
        if "slurm_conf" not in state:
            continue
        env = {**os.environ, "SLURM_CONF": state["slurm_conf"]}
        for argv in (["sinfo", "-N", "-o", "%N %P %T"], ["squeue"]):
            proc = subprocess.run([binary(argv[0]), *argv[1:]], capture_output=True,
                                  text=True, env=env, timeout=15, check=False)
            print("  " + (proc.stdout or proc.stderr).strip().replace("\n", "\n  "))
        print(f"  export SLURM_CONF={state['slurm_conf']}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testing.slurmcluster",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start a cluster and keep it up until Ctrl-C / down")
    up.add_argument("--hosts", type=int, default=2, help="nodes (default 2)")
    sub.add_parser("down", help="stop the clusters started with up")
    sub.add_parser("status", help="list the clusters running on this machine")
    args = parser.parse_args(argv)
    return {"up": cmd_up, "down": cmd_down, "status": cmd_status}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
