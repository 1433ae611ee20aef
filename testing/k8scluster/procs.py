"""The Kubernetes test cluster's state files (``/tmp/jrk-k8scluster/<id>.json``) and
:func:`remove_resources`, which undoes everything a state records: the same code runs for
``stop()`` and for a later cluster reaping what an owner that died without ``stop()`` left
(its daemons, containerd's shims, the pods' processes, mounts, network namespaces, the bridge,
cgroups, iptables chains, sysctls). The /proc helpers and the state file loop are
:mod:`testing.procs`."""

from __future__ import annotations

import contextlib
from pathlib import Path

from testing import procs
from testing.procs import StateFiles, kill_and_wait, running

from . import host

ENV_MARK = "JRK_K8SCLUSTER"
STATE_FILES = StateFiles("jrk-k8scluster")
MARKER_FILE = STATE_FILES.marker

__all__ = ["ENV_MARK", "MARKER_FILE", "STATE_FILES", "cleanup_stale", "marked_pids",
           "recorded_clusters", "remove_resources"]


def marked_pids(prefix: str) -> set[int]:
    """PIDs whose environment has ENV_MARK=<value starting with *prefix*> (the daemons and
    containerd's shims, which inherit containerd's environment)."""
    return procs.marked_pids(ENV_MARK, prefix)


def _other_live(state: dict) -> list[dict]:
    return [s for s in STATE_FILES.live() if s.get("id") != state.get("id")]


def remove_resources(state: dict, remove_workdir: bool = True) -> list[str]:
    """Kill and undo what *state* records; returns errors (empty: nothing is left)."""
    errors = []
    cid = state.get("id", "")
    pids = {pid for pid, start, _ in state.get("daemons", []) if start and running(pid, start)}
    if cid:
        pids |= marked_pids(f"{cid}-")
    cgroup = state.get("cgroup", "")
    if cgroup:
        pids |= host.cgroup_pids(cgroup)
    left = kill_and_wait(pids)
    if cgroup:  # a shim may have started a container while we were killing
        left += kill_and_wait(host.cgroup_pids(cgroup) - set(left))
    if left:
        errors.append(f"processes {sorted(set(left))} survived SIGKILL")
    workdir = Path(state.get("workdir", "/nonexistent"))
    if state.get("workdir"):
        errors += host.unmount_under(workdir)
    if state.get("bridge"):
        errors += host.delete_bridge(state["bridge"])
    if cgroup:
        errors += host.remove_cgroups(cgroup)
    host.remove_shim_sockets(state.get("shim_sockets_before", []),
                             state.get("made_run_containerd", False))
    others = _other_live(state)
    if "iptables_before" in state and not others:
        errors += host.remove_iptables_chains(state["iptables_before"])
    # Every cluster holds the values from before the first one started (a cluster starting
    # while others run copies theirs): the last one to stop restores them.
    if state.get("sysctls") and not others:
        errors += host.restore_sysctls(state["sysctls"])
    # libcni's cached results of pods not torn down: <network>-<sandbox id>-<ifname>, for
    # the cluster's bridge network and containerd's own loopback network.
    ids = set()
    for where in ("root", "state"):
        sandboxes = workdir / "containerd" / where / "io.containerd.grpc.v1.cri" / "sandboxes"
        with contextlib.suppress(OSError):
            ids |= {d.name for d in sandboxes.iterdir()}
    with contextlib.suppress(OSError):
        for f in Path("/var/lib/cni/results").iterdir():
            if (state.get("cni_network") and f.name.startswith(state["cni_network"] + "-")) \
                    or any(f.name.startswith(f"cni-loopback-{i}-") for i in ids):
                f.unlink()
    if state.get("made_paths") and not others:
        errors += host.remove_made_paths(state["made_paths"])
    if remove_workdir and state.get("own_workdir") and not host.mounts_under(workdir) \
            and not STATE_FILES.remove_workdir(workdir):
        errors.append(f"cannot remove {workdir}")
    return errors


def recorded_clusters() -> list[dict]:
    """The state of every cluster on this machine whose owner is alive."""
    return STATE_FILES.live()


def cleanup_stale() -> list[str]:
    """Remove what clusters whose owner died without stop() left behind; returns their ids."""
    return STATE_FILES.cleanup_stale(remove_resources)
