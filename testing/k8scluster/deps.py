"""What the real Kubernetes test cluster needs and where it is: Debian's etcd, containerd,
runc, CNI plugins and debootstrap, a Go toolchain, the built binaries and images in the cache
folder, root; and the check of all of it (:func:`missing`, :func:`require`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

__all__ = [
    "INSTALL",
    "K8S_VERSION",
    "PROGRAMS",
    "K8sClusterError",
    "bin_dir",
    "cache_dir",
    "go_binary",
    "image_dir",
    "missing",
    "program",
    "require",
]

K8S_VERSION = "v1.34.4"


class K8sClusterError(RuntimeError):
    """Building, setting up, driving or tearing down the real Kubernetes test cluster failed."""


#: Debian programs the cluster runs, with their package.
PROGRAMS = {
    "etcd": ("/usr/bin/etcd", "etcd-server"),
    "containerd": ("/usr/bin/containerd", "containerd"),
    "ctr": ("/usr/bin/ctr", "containerd"),
    "runc": ("/usr/sbin/runc", "runc"),
    "bridge": ("/usr/lib/cni/bridge", "containernetworking-plugins"),
    "host-local": ("/usr/lib/cni/host-local", "containernetworking-plugins"),
    "loopback": ("/usr/lib/cni/loopback", "containernetworking-plugins"),
    "debootstrap": ("/usr/sbin/debootstrap", "debootstrap"),
    "openssl": ("/usr/bin/openssl", "openssl"),
    "ip": ("/usr/sbin/ip", "iproute2"),
    "iptables": ("/usr/sbin/iptables", "iptables"),
    "mount": ("/usr/bin/mount", "mount"),
}
INSTALL = ("apt-get install etcd-server containerd runc containernetworking-plugins "
           "debootstrap openssl iproute2 iptables")


def cache_dir() -> Path:
    """Binaries, images and Go caches live here (``$JRK_K8S_CACHE`` or ``~/.cache/jrk-k8s``)."""
    return Path(os.environ.get("JRK_K8S_CACHE") or Path.home() / ".cache" / "jrk-k8s")


def bin_dir() -> Path:
    return cache_dir() / "bin"


def image_dir() -> Path:
    return cache_dir() / "images"


def program(name: str) -> str:
    """Absolute path of a Debian program the cluster needs; a clear error when missing."""
    path, package = PROGRAMS[name]
    if os.access(path, os.X_OK):
        return path
    found = shutil.which(name) if "/cni/" not in path else None
    if found:
        return found
    msg = (f"{name} is not installed: the real Kubernetes test cluster needs Debian's "
           f"{package} package ({INSTALL})")
    raise K8sClusterError(msg)


def go_binary() -> str:
    """The ``go`` on PATH (or /usr/local/go/bin/go), at least 1.21 (it fetches 1.24+ itself)."""
    go = shutil.which("go") or ("/usr/local/go/bin/go"
                                if os.access("/usr/local/go/bin/go", os.X_OK) else None)
    if not go:
        msg = ("go is not installed: building Kubernetes needs Go >= 1.21 on PATH (Go >= 1.24 "
               "is then fetched from the Go module proxy when older); none was found")
        raise K8sClusterError(msg)
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True,
                         check=False, timeout=60, env={**os.environ, "GOTOOLCHAIN": "local"})
    found = re.match(r"go1\.(\d+)", out.stdout.strip())
    if not found or int(found.group(1)) < 21:
        msg = (f"{go} is {out.stdout.strip() or 'unusable'}: building Kubernetes needs "
               "Go >= 1.21 (which fetches the 1.24+ toolchain Kubernetes asks for)")
        raise K8sClusterError(msg)
    return go


def missing(*, built: bool = True) -> list[str]:
    """What is missing for a cluster, each as "what: how to get it" (empty when ready).

    With *built*, also the binaries and images in the cache (``python -m testing.k8scluster
    build`` makes them)."""
    out = []
    for name, (_path, package) in PROGRAMS.items():
        try:
            program(name)
        except K8sClusterError:
            out.append(f"{name}: apt-get install {package}")
    if os.geteuid() != 0:
        out.append("root: containerd, the kubelet, mounts and the bridge need root")
    if built:
        from .build import binaries_ready  # noqa: PLC0415 (build imports this module)
        from .images import IMAGES, image_ready  # noqa: PLC0415

        if not binaries_ready():
            out.append(f"Kubernetes {K8S_VERSION} binaries in {bin_dir()}: "
                       "python -m testing.k8scluster build")
        out.extend(f"image {name} in {image_dir()}: python -m testing.k8scluster build"
                   for name in IMAGES if not image_ready(name))
    return out


def require(*, built: bool = True) -> None:
    """Raise :class:`K8sClusterError` naming everything missing and how to get it."""
    gaps = missing(built=built)
    if gaps:
        msg = ("the real Kubernetes test cluster cannot start here; missing: " + "; ".join(gaps)
               + f" (Debian: {INSTALL}, as root)")
        raise K8sClusterError(msg)
