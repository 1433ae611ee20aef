"""Run the real YARN test cluster by hand.

    python -m testing.yarncluster fetch     # Hadoop's jars into ~/.cache/jrk-yarn (Maven)
    python -m testing.yarncluster up        # start; prints how to use it; Ctrl-C stops it
    python -m testing.yarncluster status    # clusters running on this machine
    python -m testing.yarncluster down      # stop the clusters started with `up`
    python -m testing.yarncluster record DIR  # record real RM REST answers as JSON fixtures

Needs root (the NodeManagers live in network namespaces), Java 17, Maven (first fetch
only), sshd and pyspark.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import urllib.request

from testing.procs import cli_down, cli_up

from .cluster import YarnTestCluster
from .deps import YarnClusterError, ensure_hadoop, spark_home
from .procs import STATE_FILES, cleanup_stale, recorded_clusters
from .record import record

CLI_LABEL = "cli"


def _usage(cluster: YarnTestCluster) -> str:
    conf = cluster.spark_conf()
    lines = [
        f"ResourceManager   {cluster.rm_url}  (RPC {cluster.rm_address})",
        f"started in        {cluster.startup_seconds:.1f} s",
        "NodeManagers      " + ", ".join(
            f"{h.name}={h.hostname}/{h.address}" for h in cluster.hosts),
        f"ssh to a host     ssh -F {cluster.bed.ssh_config_path} h1",
        f"RM log            {cluster.rm_log}",
        "",
        "# for spark-submit / the yarn_spark kernelspec:",
        f"export HADOOP_CONF_DIR={cluster.hadoop_conf_dir}",
        f"export YARN_CONF_DIR={cluster.hadoop_conf_dir}",
        f"export SPARK_HOME={spark_home()}",
        "export PYSPARK_PYTHON=python3",
        "SPARK_OPTS=" + shlex.quote(" ".join(f"--conf {k}={v}" for k, v in conf.items())),
        "$SPARK_HOME/bin/spark-submit --master yarn --deploy-mode cluster $SPARK_OPTS app.py",
        "",
        "queues: default, small (one application at a time), one (refuses a second). Ctrl-C or "
        "`python -m testing.yarncluster down` stops everything.",
    ]
    return "\n".join(lines)


def cmd_up(args) -> int:
    return cli_up(YarnTestCluster(n_hosts=args.hosts, label=CLI_LABEL), _usage, YarnClusterError,
                  "stopped: no JVM, container or host left.")


def cmd_down(args) -> int:
    return cli_down(STATE_FILES, cleanup_stale, CLI_LABEL)


def cmd_status(args) -> int:
    clusters = recorded_clusters()
    if not clusters:
        print("no YARN test cluster is running")
    for state in clusters:
        print(f"cluster {state['id']} ({state.get('label') or 'tests'}, owner pid "
              f"{state['owner_pid']}): {state.get('rm_url', 'starting')}")
        if "rm_url" not in state:
            continue
        try:
            with urllib.request.urlopen(state["rm_url"] + "/ws/v1/cluster/nodes",
                                        timeout=5) as resp:
                nodes = (json.load(resp).get("nodes") or {}).get("node") or []
            with urllib.request.urlopen(state["rm_url"] + "/ws/v1/cluster/metrics",
                                        timeout=5) as resp:
                metrics = json.load(resp)["clusterMetrics"]
        except OSError as exc:
            print(f"  RM does not answer: {exc}")
            continue
        for n in nodes:
            print(f"  node {n['id']} {n['state']} containers={n.get('numContainers')} "
                  f"usedMB={n.get('usedMemoryMB')}")
        print(f"  apps running={metrics.get('appsRunning')} "
              f"pending={metrics.get('appsPending')}")
        print(f"  HADOOP_CONF_DIR={state.get('hadoop_conf_dir')}")
    return 0


def cmd_fetch(args) -> int:
    try:
        print(ensure_hadoop(fetch=True))
    except YarnClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_record(args) -> int:

    return record(args.dir)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testing.yarncluster",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start a cluster and keep it up until Ctrl-C / down")
    up.add_argument("--hosts", type=int, default=2, help="NodeManager hosts (default 2)")
    sub.add_parser("down", help="stop the clusters started with up")
    sub.add_parser("status", help="list the clusters running on this machine")
    sub.add_parser("fetch", help="fetch Hadoop's jars with Maven (once)")
    rec = sub.add_parser("record", help="record real RM REST answers as JSON fixtures")
    rec.add_argument("dir", help="output folder, e.g. testing/yarn_emulator/recorded")
    args = parser.parse_args(argv)
    return {"up": cmd_up, "down": cmd_down, "status": cmd_status, "fetch": cmd_fetch,
            "record": cmd_record}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
