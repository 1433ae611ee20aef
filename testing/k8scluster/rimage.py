"""The R image (:func:`build_r`): the Python + ipykernel image plus Debian's ``r-base-core``
and ``r-cran-irkernel``, for R (IRkernel) kernels in pods (issue 23).

No second debootstrap: the Python image's layer is unpacked, ``apt-get install
--no-install-recommends`` runs in it as a chroot, and what apt added or changed (files whose
ctime is newer than the unpacking; a whiteout for anything of the base that is gone) becomes
a second layer over the Python image's own, which containerd then stores once for both images.
The launcher runs with the image's ``python3``; the kernel is ``R``.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tarfile
import time
from pathlib import Path

from .build import run_logged
from .deps import cache_dir, image_dir
from .images import _finish, _root_owned, image_tar

__all__ = ["R_PACKAGES", "build_r"]

R_PACKAGES = ("r-base-core", "r-cran-irkernel")
#: The runtime's folders: their contents stay out of every layer.
_RUNTIME = ("dev", "proc", "sys")
#: Device nodes apt and the maintainer scripts need in the chroot (debootstrap made them for
#: the Python image; like all of /dev they stay out of the layers).
_DEVICES = {"null": 3, "zero": 5, "full": 7, "random": 8, "urandom": 9}
_LEFTOVERS = ("var/lib/apt/lists", "var/cache/apt", "usr/share/doc", "usr/share/man",
              "usr/share/locale")


def _base_layer(work: Path) -> tuple[Path, dict]:
    """The Python image's layer (extracted into *work*) and its image config."""
    with tarfile.open(image_tar("python")) as base:
        manifest = json.load(base.extractfile("manifest.json"))[0]
        config = json.load(base.extractfile(manifest["Config"]))
        [layer] = manifest["Layers"]
        base.extract(layer, work, filter="fully_trusted")
    return work / layer, config


def _kept(name: str) -> bool:
    top = name.split("/", 1)[0]
    return name not in ("", ".") and not (top in _RUNTIME and "/" in name)


def _whiteouts(base: Path, root: Path) -> list[str]:
    """``.wh.`` entries for what the base layer has and the new root lacks (the topmost
    missing path only: a whiteout inside a deleted folder would bring the folder back)."""
    with tarfile.open(base) as tar:
        names = sorted({n.removeprefix("./").rstrip("/") for n in tar.getnames()})
    gone: list[str] = []
    for name in names:
        if not _kept(name) or any(name.startswith(g + "/") for g in gone):
            continue
        if not os.path.lexists(root / name):
            gone.append(name)
    return [f"{os.path.dirname(g)}/.wh.{os.path.basename(g)}".lstrip("/") for g in gone]


def _changed(root: Path, since: float) -> list[str]:
    """Paths under *root* created or changed after *since* (ctime), parents first."""
    out = []
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        if rel.split("/", 1)[0] in _RUNTIME and rel not in _RUNTIME:
            dirs[:] = []
            continue
        for name in [*dirs, *files]:
            path = os.path.join(folder, name)
            name_rel = os.path.normpath(os.path.join(rel, name))
            if _kept(name_rel) and os.lstat(path).st_ctime > since:
                out.append(name_rel)
    return out


def build_r(*, timeout: float = 1800.0) -> None:
    """The Python image + R and IRkernel, as a second layer over the Python image's."""
    work = image_dir() / "r.work"
    shutil.rmtree(work, ignore_errors=True)  # only a folder this function made
    root = work / "root"
    root.mkdir(parents=True)
    log = cache_dir() / "logs" / "r-image.log"
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
           "LC_ALL": "C"}
    base, config = _base_layer(work)
    run_logged(["tar", "--numeric-owner", "--xattrs", "-xpf", str(base), "-C", str(root)],
               log, cwd=work, env=env, timeout=600, what="unpacking the Python image")
    for name, minor in _DEVICES.items():
        os.mknod(root / "dev" / name, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        os.chmod(root / "dev" / name, 0o666)
    time.sleep(0.05)
    since = time.time()
    time.sleep(0.05)
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    chroot = ["chroot", str(root)]
    run_logged([*chroot, "apt-get", "update", "-q"], log, cwd=work, env=env, timeout=timeout,
               what="apt-get update in the R image")
    run_logged([*chroot, "apt-get", "install", "-y", "-q", "--no-install-recommends",
                *R_PACKAGES], log, cwd=work, env=env, timeout=timeout,
               what=f"installing {' '.join(R_PACKAGES)} in the R image")
    run_logged([*chroot, "apt-get", "clean"], log, cwd=work, env=env, timeout=120,
               what="apt-get clean in the R image")
    for leftover in _LEFTOVERS:
        shutil.rmtree(root / leftover, ignore_errors=True)
    (root / "etc" / "resolv.conf").write_text("")
    changed = _changed(root, since)
    (work / "changed").write_bytes(b"".join(f"./{p}".encode() + b"\0" for p in changed))
    layer = work / "layer.tar"
    run_logged(["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-cf", str(layer),
                "--no-recursion", "--null", "-T", str(work / "changed")],
               log, cwd=work, env=env, timeout=600, what="packing the R layer")
    with tarfile.open(layer, "a") as tar:
        for whiteout in _whiteouts(base, root):
            tar.addfile(_root_owned(tarfile.TarInfo(whiteout), 0o644))
    _finish("r", [base, layer], entrypoint=[], cmd=["R", "--no-save"],
            env=config["config"]["Env"])
    shutil.rmtree(work, ignore_errors=True)
