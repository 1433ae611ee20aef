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
import subprocess
import sys

from testing.procs import cli_down, cli_up

from .cluster import SlurmTestCluster
from .deps import SlurmClusterError, binary
from .procs import STATE_FILES, cleanup_stale, recorded_clusters

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
    return cli_up(SlurmTestCluster(n_hosts=args.hosts, label=CLI_LABEL), _usage, SlurmClusterError,
                  "stopped: no daemon, job or host left.")


def cmd_down(args) -> int:
    return cli_down(STATE_FILES, cleanup_stale, CLI_LABEL)


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
