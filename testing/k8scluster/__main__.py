"""Build and run the real Kubernetes test cluster by hand.

    python -m testing.k8scluster fetch     # the Go modules of Kubernetes into ~/.cache/jrk-k8s
    python -m testing.k8scluster build     # the binaries and the images (once: ~10-15 min)
    python -m testing.k8scluster up        # start; prints how to use it; Ctrl-C stops it
    python -m testing.k8scluster status    # clusters running on this machine
    python -m testing.k8scluster down      # stop the clusters started with `up`

Needs root, Go >= 1.21 (build only) and Debian's etcd-server, containerd, runc,
containernetworking-plugins, debootstrap, iptables.
"""

from __future__ import annotations

import argparse
import sys
import time

from testing.procs import cli_down, cli_up

from .build import BINARIES, build_binaries, go_env, prepare_source, run_logged
from .cluster import K8sTestCluster
from .deps import K8S_VERSION, K8sClusterError, cache_dir, go_binary, missing
from .images import PYTHON_IMAGE, R_IMAGE, build_images
from .procs import STATE_FILES, cleanup_stale, recorded_clusters

CLI_LABEL = "cli"


def _usage(cluster: K8sTestCluster) -> str:
    timings = ", ".join(f"{k} {v:g} s" for k, v in cluster.timings.items())
    return "\n".join([
        f"API server        {cluster.server}  (Kubernetes {K8S_VERSION})",
        f"started in        {cluster.startup_seconds:.1f} s ({timings})",
        f"node              {cluster.node_name} ({cluster.address}, bridge {cluster.bridge})",
        f"python image      {PYTHON_IMAGE} (imagePullPolicy: Never)",
        f"R image           {R_IMAGE} (the python image + R and IRkernel)",
        f"logs              {cluster.workdir / 'logs'}",
        "",
        f"export KUBECONFIG={cluster.kubeconfig}",
        "",
        "Ctrl-C or `python -m testing.k8scluster down` stops everything.",
    ])


def cmd_fetch(args) -> int:
    try:
        src = prepare_source()
        run_logged([go_binary(), "list", "-deps",
                    *(f"k8s.io/kubernetes/cmd/{name}" for name in BINARIES)],
                   cache_dir() / "logs" / "fetch.log", cwd=src, env=go_env(), timeout=1800,
                   what="downloading Kubernetes' Go modules")
    except K8sClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Go modules of Kubernetes {K8S_VERSION} are in {cache_dir() / 'go' / 'mod'}")
    return 0


def cmd_build(args) -> int:
    gaps = missing(built=False)
    if gaps:
        print("error: cannot build: missing " + "; ".join(gaps), file=sys.stderr)
        return 1
    try:
        t = time.monotonic()
        spent = build_binaries(jobs=args.jobs, force=args.force)
        how = f"built in {spent:.0f} s" if spent else "cached"
        print(f"binaries: {how} "
              f"({cache_dir() / 'bin'})", flush=True)
        images = build_images(force=args.force)
        for name, seconds in images.items():
            print(f"image {name}: built in {seconds:.0f} s")
        print(f"ready in {time.monotonic() - t:.0f} s; images in {cache_dir() / 'images'}")
    except K8sClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_up(args) -> int:
    return cli_up(K8sTestCluster(label=CLI_LABEL), _usage, K8sClusterError,
                  "stopped: no daemon, pod, mount, bridge or cgroup left; sysctls restored.")


def cmd_down(args) -> int:
    return cli_down(STATE_FILES, cleanup_stale, CLI_LABEL)


def cmd_status(args) -> int:
    clusters = recorded_clusters()
    if not clusters:
        print("no Kubernetes test cluster is running")
    for state in clusters:
        print(f"cluster {state['id']} ({state.get('label') or 'tests'}, owner pid "
              f"{state['owner_pid']}): {state.get('server', 'starting')}")
        if state.get("kubeconfig"):
            print(f"  export KUBECONFIG={state['kubeconfig']}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testing.k8scluster",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch", help="download Kubernetes' Go modules (the network part)")
    build = sub.add_parser("build", help="build what is not in the cache (binaries, images)")
    build.add_argument("--jobs", type=int, default=1, help="go build -p (default 1)")
    build.add_argument("--force", action="store_true", help="rebuild even when cached")
    sub.add_parser("up", help="start a cluster and keep it up until Ctrl-C / down")
    sub.add_parser("down", help="stop the clusters started with up")
    sub.add_parser("status", help="list the clusters running on this machine")
    args = parser.parse_args(argv)
    return {"fetch": cmd_fetch, "build": cmd_build, "up": cmd_up, "down": cmd_down,
            "status": cmd_status}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
