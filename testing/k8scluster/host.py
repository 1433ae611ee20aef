"""What a cluster changes on the host, and how each change is undone: the bridge
(``jrkk8s<k>``, ``10.214.k.1/24``), the cgroup root of its pods in every cgroup v1 hierarchy,
the sysctls the kubelet sets, iptables chains, mounts (containerd's rootfs, the kubelet's
volumes), pod network namespaces and containerd's shim sockets. Every function that undoes
something looks first and touches only what is the cluster's own (under its workdir, attached
to its bridge, named with its id) or what it recorded as absent before it started."""

from __future__ import annotations

import contextlib
import os
import random
import re
import shlex
import stat
import subprocess
import time
from pathlib import Path

from .deps import K8sClusterError, program

__all__ = [
    "CGROUP_ROOT",
    "HOST_PATHS",
    "SYSCTLS",
    "absent_paths",
    "bridge_netns",
    "delete_bridge",
    "iptables_chains",
    "make_bridge",
    "make_cgroups",
    "mounts_under",
    "pick_subnet",
    "remove_cgroups",
    "remove_iptables_chains",
    "remove_made_paths",
    "restore_sysctls",
    "run_cmd",
    "save_sysctls",
    "shim_sockets",
    "unmount_under",
]

CGROUP_ROOT = Path("/sys/fs/cgroup")
SUBNET_PREFIX = "10.214"
BRIDGE_PREFIX = "jrkk8s"
#: What the kubelet sets on the host (``setupKernelTunables``): saved before, restored after.
SYSCTLS = ("vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
           "kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes")
IPTABLES = (("iptables", "filter"), ("iptables", "nat"), ("iptables", "mangle"),
            ("ip6tables", "filter"), ("ip6tables", "nat"), ("ip6tables", "mangle"))


def run_cmd(argv: list[str], *, check: bool = True, timeout: float = 30.0
            ) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        msg = f"{' '.join(argv)} failed: {exc}"
        raise K8sClusterError(msg) from exc
    if check and proc.returncode:
        msg = f"{' '.join(argv)} failed (exit {proc.returncode}): {proc.stderr.strip()}"
        raise K8sClusterError(msg)
    return proc


# -- bridge ------------------------------------------------------------------------------------
def pick_subnet(recorded: list[dict]) -> int:
    """A free k for 10.214.k.0/24: not on any interface or route, nor recorded by a cluster."""
    ip = program("ip")
    seen = run_cmd([ip, "-o", "-4", "addr"]).stdout + run_cmd([ip, "-4", "route"]).stdout
    used = {int(k) for k in re.findall(rf"\b{re.escape(SUBNET_PREFIX)}\.(\d+)\.", seen)}
    used |= {int(s["subnet_k"]) for s in recorded if str(s.get("subnet_k", "")).isdigit()}
    free = [k for k in range(1, 255) if k not in used]
    if not free:
        msg = f"no free {SUBNET_PREFIX}.k.0/24 subnet for the Kubernetes test bed's bridge"
        raise K8sClusterError(msg)
    return random.choice(free)


def make_bridge(name: str, address: str) -> None:
    ip = program("ip")
    run_cmd([ip, "link", "add", name, "type", "bridge"])
    with contextlib.suppress(OSError):
        Path(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6").write_text("1")
    run_cmd([ip, "addr", "add", f"{address}/24", "dev", name])
    run_cmd([ip, "link", "set", name, "up"])


def bridge_netns(bridge: str) -> list[str]:
    """Names of network namespaces in /run/netns whose eth0 peers with a port of *bridge*
    (pod sandboxes whose teardown did not happen)."""
    ports = set()
    with contextlib.suppress(OSError):
        for link in Path(f"/sys/class/net/{bridge}/brif").iterdir():
            with contextlib.suppress(OSError, ValueError):
                ports.add(int((Path("/sys/class/net") / link.name / "ifindex").read_text()))
    found = []
    if not ports or not Path("/run/netns").is_dir():
        return found
    for ns in sorted(os.listdir("/run/netns")):
        if not ns.startswith("cni-"):
            continue
        out = run_cmd([program("ip"), "-n", ns, "-o", "link"], check=False).stdout
        if {int(i) for i in re.findall(r"@if(\d+)", out)} & ports:
            found.append(ns)
    return found


def delete_bridge(name: str) -> list[str]:
    """Delete the pod namespaces attached to *name*, then *name* itself; returns errors."""
    errors = []
    if not name.startswith(BRIDGE_PREFIX) or not Path(f"/sys/class/net/{name}").exists():
        return errors
    for ns in bridge_netns(name):
        proc = run_cmd([program("ip"), "netns", "del", ns], check=False)
        if proc.returncode:
            errors.append(f"cannot delete network namespace {ns}: {proc.stderr.strip()}")
    proc = run_cmd([program("ip"), "link", "del", name], check=False)
    if proc.returncode and Path(f"/sys/class/net/{name}").exists():
        errors.append(f"cannot delete bridge {name}: {proc.stderr.strip()}")
    return errors


# -- cgroups -----------------------------------------------------------------------------------
def hierarchies() -> list[Path]:
    """The cgroup hierarchies: one folder per mounted v1 controller set, and the v2 one that
    a hybrid layout mounts beside them (runc makes the containers' folders there too)."""
    out = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split()
            if (" - cgroup " in line or " - cgroup2 " in line) \
                    and fields[4].startswith(str(CGROUP_ROOT)):
                out.append(Path(fields[4]))
    return out


def make_cgroups(name: str) -> None:
    """``/<name>`` in every v1 hierarchy (the kubelet's ``cgroupRoot`` must exist); cpuset's
    gets its parent's CPUs and memory nodes, or nothing could join it."""
    for h in hierarchies():
        path = h / name
        path.mkdir(exist_ok=True)
        if (h / "cpuset.cpus").exists():
            for f in ("cpuset.cpus", "cpuset.mems"):
                if not (path / f).read_text().strip():
                    (path / f).write_text((h / f).read_text().strip())


def cgroup_pids(name: str) -> set[int]:
    """Every process in ``/<name>`` or below, in any hierarchy."""
    pids = set()
    for h in hierarchies():
        if (h / name).is_dir():
            for procs in (h / name).rglob("cgroup.procs"):
                with contextlib.suppress(OSError, ValueError):
                    pids |= {int(p) for p in procs.read_text().split()}
    return pids


def remove_cgroups(name: str) -> list[str]:
    """rmdir ``/<name>`` and everything below it, deepest first (processes must be gone)."""
    errors = []
    if not name.startswith("jrk-k8s-"):
        return errors
    for h in hierarchies():
        top = h / name
        if not top.is_dir():
            continue
        below = sorted((p for p in top.rglob("*") if p.is_dir()),
                       key=lambda p: len(p.parts), reverse=True)
        for d in [*below, top]:
            for _ in range(20):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                errors.append(f"cannot remove cgroup {d}")
    return errors


# -- sysctls -------------------------------------------------------------------------------------
def save_sysctls() -> dict[str, str]:
    out = {}
    for key in SYSCTLS:
        with contextlib.suppress(OSError):
            out[key] = Path("/proc/sys", key).read_text().strip()
    return out


def restore_sysctls(saved: dict[str, str]) -> list[str]:
    errors = []
    for key, value in saved.items():
        path = Path("/proc/sys", key)
        try:
            if path.read_text().strip() != value:
                path.write_text(value)
        except OSError as exc:
            errors.append(f"cannot restore {key.replace('/', '.')}={value}: {exc}")
    return errors


# -- iptables ------------------------------------------------------------------------------------
def _save(tool: str, table: str) -> str:
    path = f"/usr/sbin/{tool}-save"
    if not os.access(path, os.X_OK):
        return ""
    return run_cmd([path, "-t", table], check=False).stdout


def iptables_chains() -> dict[str, list[str]]:
    """``"iptables/filter"`` → the chain names in that table now."""
    return {f"{tool}/{table}": re.findall(r"^:(\S+)", _save(tool, table), re.MULTILINE)
            for tool, table in IPTABLES}


def remove_iptables_chains(before: dict[str, list[str]]) -> list[str]:
    """Delete every ``KUBE-*`` chain that was not there *before* (and the rules jumping to
    it); returns errors."""
    errors = []
    for tool, table in IPTABLES:
        dump = _save(tool, table)
        new = set(re.findall(r"^:(KUBE-\S+)", dump, re.MULTILINE)) - set(
            before.get(f"{tool}/{table}", []))
        if not new:
            continue
        binary = f"/usr/sbin/{tool}"
        for line in dump.splitlines():
            words = shlex.split(line) if line.startswith("-A ") else []
            if words and "-j" in words and words[words.index("-j") + 1] in new \
                    and words[1] not in new:
                run_cmd([binary, "-t", table, "-D", *words[1:]], check=False)
        for chain in new:
            run_cmd([binary, "-t", table, "-F", chain], check=False)
        for chain in new:
            proc = run_cmd([binary, "-t", table, "-X", chain], check=False)
            if proc.returncode:
                errors.append(f"cannot delete {tool} chain {table}/{chain}: "
                              f"{proc.stderr.strip()}")
    return errors


# -- mounts and sockets --------------------------------------------------------------------------
def mounts_under(root: Path) -> list[str]:
    """Mount points at or below *root* (from /proc/self/mountinfo), deepest first."""
    prefix = str(root).rstrip("/") + "/"
    points = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix) or point == prefix.rstrip("/"):
                points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


def unmount_under(root: Path) -> list[str]:
    errors = []
    for point in mounts_under(root):
        if run_cmd(["umount", point], check=False).returncode:
            run_cmd(["umount", "-l", point], check=False)
    errors += [f"mount {p} is still there" for p in mounts_under(root)]
    return errors


SHIM_SOCKETS = Path("/run/containerd/s")


def shim_sockets() -> list[str]:
    """containerd's shim sockets (a folder fixed in containerd 1.6 whatever its state dir)."""
    with contextlib.suppress(OSError):
        return sorted(os.listdir(SHIM_SOCKETS))
    return []


def remove_shim_sockets(before: list[str], made_run_dir: bool) -> None:
    """Remove shim sockets that appeared since *before* and nothing listens on any more, and
    /run/containerd when the cluster made it and it is empty."""
    listening = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 8:
                listening.add(fields[-1].lstrip("@"))
    for name in set(shim_sockets()) - set(before):
        path = SHIM_SOCKETS / name
        if str(path) not in listening and not any(str(path) in s for s in listening):
            with contextlib.suppress(OSError):
                path.unlink()
    if made_run_dir:
        for d in (SHIM_SOCKETS, SHIM_SOCKETS.parent):
            with contextlib.suppress(OSError):
                d.rmdir()


#: Host folders the kubelet or containerd's CNI code makes whatever their configured roots
#: (the kubelet's device-plugin socket folder is fixed; libcni caches results there).
HOST_PATHS = ("/var/lib/kubelet", "/var/lib/cni", "/run/containerd", "/var/log/pods",
              "/var/lib/containerd", "/etc/cni", "/opt/cni")


def absent_paths() -> list[str]:
    return [p for p in HOST_PATHS if not os.path.lexists(p)]


def remove_made_paths(made: list[str]) -> list[str]:
    """Remove the folders of *made* (absent before the first cluster started) when they hold
    only folders and sockets; returns what could not be removed."""
    errors = []
    for top in made:
        if not os.path.isdir(top) or os.path.islink(top):
            continue
        for root, dirs, files in os.walk(top, topdown=False):
            for name in files:
                path = os.path.join(root, name)
                with contextlib.suppress(OSError):
                    if stat.S_ISSOCK(os.lstat(path).st_mode):
                        os.unlink(path)
            with contextlib.suppress(OSError):
                os.rmdir(root)
        if os.path.exists(top):
            errors.append(f"{top} (made by the cluster) is not empty")
    return errors
