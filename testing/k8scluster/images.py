"""The two container images, built here since no container registry is reachable
(:func:`build_images`), as docker-archive tars that ``ctr -n k8s.io images import`` loads:

- ``pause``: the sandbox ("infra") container of every pod, a static Go program that waits
  for SIGTERM/SIGINT and reaps the children it inherits;
- ``python``: Debian bookworm (``debootstrap --variant=minbase``) with ``python3-ipykernel``
  and nothing recommended (≈ 150-200 MB): "any image with Python and ipykernel", what kernel
  pods run. Its first process should handle SIGTERM or the pod be deleted with a short grace.

- ``r``: the Python image plus Debian's ``r-base-core`` and ``r-cran-irkernel`` (issue 23's
  R kernels in pods), a second layer over the Python image's own (:mod:`.rimage`).

Times on 2 shared cores: pause ≈ 10 s, python ≈ 2-4 min (debootstrap from Debian's mirror),
r ≈ 1-2 min more (apt-get in the Python image's unpacked rootfs).
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from .build import go_env, run_logged
from .deps import K8sClusterError, cache_dir, go_binary, image_dir, program

__all__ = ["IMAGES", "PAUSE_IMAGE", "PYTHON_IMAGE", "R_IMAGE", "build_images", "build_seed",
           "clone_seed", "image_ready", "image_tar", "seed_ready"]

PAUSE_IMAGE = "jrk.test/pause:1"
PYTHON_IMAGE = "jrk.test/python-ipykernel:bookworm"
R_IMAGE = "jrk.test/r-irkernel:bookworm"
#: name → the reference pods use (``imagePullPolicy: Never``); built in this order.
IMAGES = {"pause": PAUSE_IMAGE, "python": PYTHON_IMAGE, "r": R_IMAGE}
SUITE = "bookworm"
PYTHON_PACKAGES = ("python3-ipykernel",)
#: Mirror for debootstrap (``$JRK_K8S_DEBIAN_MIRROR``): Debian's, which these machines reach.
DEFAULT_MIRROR = "http://deb.debian.org/debian"
PYTHON_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
              "LANG=C.UTF-8", "PYTHONUNBUFFERED=1"]

PAUSE_GO = """\
// The pod sandbox's first process: waits for SIGTERM/SIGINT, reaps orphans.
package main

import (
\t"os"
\t"os/signal"
\t"syscall"
)

func main() {
\tsignals := make(chan os.Signal, 8)
\tsignal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
\tfor sig := range signals {
\t\tif sig != syscall.SIGCHLD {
\t\t\tos.Exit(0)
\t\t}
\t\tfor {
\t\t\tif pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil); pid <= 0 || err != nil {
\t\t\t\tbreak
\t\t\t}
\t\t}
\t}
}
"""


def image_tar(name: str) -> Path:
    return image_dir() / f"{name}.tar"


def image_ready(name: str) -> bool:
    """The image's tar is there and complete (its stamp names the same reference)."""
    stamp = image_dir() / f"{name}.ref"
    return (image_tar(name).is_file() and stamp.is_file()
            and stamp.read_text().strip() == IMAGES[name])


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pack_docker_archive(layer: Path | list[Path], ref: str, out: Path, *,
                        entrypoint: list[str], cmd: list[str], env: list[str]) -> None:
    """Write a docker-archive (``manifest.json``, config, one ``layer.tar`` per layer, lowest
    first) to *out*."""
    layers = layer if isinstance(layer, list) else [layer]
    diff_ids = [_sha256_file(path) for path in layers]
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": entrypoint, "Cmd": cmd, "Env": env, "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for d in diff_ids]},
        "history": [{"created_by": "testing.k8scluster.images"} for _ in layers],
    }, sort_keys=True).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [ref],
                            "Layers": [f"{d}/layer.tar" for d in diff_ids]}]).encode()
    tmp = out.with_suffix(".tmp")
    with tarfile.open(tmp, "w") as tar:
        for name, data in (("manifest.json", manifest), (config_name, config)):
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), int(time.time())
            tar.addfile(info, io.BytesIO(data))
        for path, diff_id in zip(layers, diff_ids):
            tar.add(path, arcname=f"{diff_id}/layer.tar")
    tmp.replace(out)


def _finish(name: str, layer: Path | list[Path], **config) -> None:
    pack_docker_archive(layer, IMAGES[name], image_tar(name), **config)
    (image_dir() / f"{name}.ref").write_text(IMAGES[name] + "\n")


def build_pause() -> None:
    src = cache_dir() / "src" / "pause"
    src.mkdir(parents=True, exist_ok=True)
    (src / "go.mod").write_text("module jrk.test/pause\n\ngo 1.21\n")
    (src / "main.go").write_text(PAUSE_GO)
    work = image_dir() / "pause.work"
    shutil.rmtree(work, ignore_errors=True)
    (work / "root").mkdir(parents=True)
    run_logged([go_binary(), "build", "-trimpath", "-ldflags=-s -w", "-o",
                str(work / "root" / "pause"), "."], cache_dir() / "logs" / "pause.log",
               cwd=src, env=go_env(), timeout=900, what="building the pause program")
    with tarfile.open(work / "layer.tar", "w") as tar:
        tar.add(work / "root" / "pause", arcname="pause",
                filter=lambda i: _root_owned(i, 0o755))
    _finish("pause", work / "layer.tar", entrypoint=["/pause"], cmd=[], env=[])
    shutil.rmtree(work, ignore_errors=True)


def _root_owned(info: tarfile.TarInfo, mode: int) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = mode
    return info


def build_python(*, timeout: float = 1800.0) -> None:
    """debootstrap minbase + python3-ipykernel in a chroot, packed as one layer."""
    work = image_dir() / "python.work"
    # Only a folder this function made is removed (a chroot may hold mounts: none are made).
    shutil.rmtree(work, ignore_errors=True)
    root = work / "root"
    root.mkdir(parents=True)
    log = cache_dir() / "logs" / "python-image.log"
    mirror = os.environ.get("JRK_K8S_DEBIAN_MIRROR", DEFAULT_MIRROR)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
           "LC_ALL": "C"}
    run_logged([program("debootstrap"), "--variant=minbase", SUITE, str(root), mirror], log,
               cwd=work, env=env, timeout=timeout, what="debootstrap of the Python image")
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    chroot = ["chroot", str(root)]
    run_logged([*chroot, "apt-get", "install", "-y", "-q", "--no-install-recommends",
                *PYTHON_PACKAGES], log, cwd=work, env=env, timeout=timeout,
               what="installing python3-ipykernel in the Python image")
    run_logged([*chroot, "apt-get", "clean"], log, cwd=work, env=env, timeout=120,
               what="apt-get clean in the Python image")
    for leftover in ("var/lib/apt/lists", "var/cache/apt", "usr/share/doc", "usr/share/man",
                     "usr/share/locale"):
        shutil.rmtree(root / leftover, ignore_errors=True)
    (root / "etc" / "resolv.conf").write_text("")
    # /dev, /proc and /sys are the runtime's: their contents (device nodes) stay out.
    run_logged(["tar", "--numeric-owner", "--xattrs", "--exclude=./dev/*", "--exclude=./proc/*",
                "--exclude=./sys/*", "-C", str(root), "-cf", str(work / "layer.tar"), "."],
               log, cwd=work, env=env, timeout=600, what="packing the Python image")
    _finish("python", work / "layer.tar", entrypoint=[], cmd=["python3"], env=PYTHON_ENV)
    shutil.rmtree(work, ignore_errors=True)


def build_images(*, force: bool = False) -> dict[str, float]:
    """Build the images that are not in ``image_dir()``; return seconds spent per image."""
    image_dir().mkdir(parents=True, exist_ok=True)
    times = {}
    from .rimage import build_r  # noqa: PLC0415 (rimage builds on this module)

    for name, build in (("pause", build_pause), ("python", build_python), ("r", build_r)):
        if image_ready(name) and not force:
            continue
        started = time.monotonic()
        try:
            build()
        except OSError as exc:
            msg = f"building the {name} image failed: {exc}"
            raise K8sClusterError(msg) from exc
        times[name] = time.monotonic() - started
    seeded = build_seed()
    if seeded:
        times["containerd root"] = seeded
    return times


# -- a containerd root with the images in it, cloned by every cluster -----------------------------
SEED_TOML = """\
version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{state}/sock"
[ttrpc]
  address = "{state}/sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{state}/opt"
"""


def seed_dir() -> Path:
    return cache_dir() / "containerd-root"


def _seed_stamp() -> str:
    return "".join(f"{IMAGES[name]} {image_tar(name).stat().st_size} "
                   f"{int(image_tar(name).stat().st_mtime)}\n" for name in IMAGES)


def seed_ready() -> bool:
    stamp = cache_dir() / "containerd-root.stamp"
    return seed_dir().is_dir() and stamp.is_file() and stamp.read_text() == _seed_stamp()


def build_seed(*, timeout: float = 900.0) -> float:
    """Import the images once into a containerd root in the cache (a containerd of its own,
    without CRI, stopped afterwards); return seconds spent (0 when it is current). Every
    cluster starts from a hard-linked clone of it (:func:`clone_seed`) instead of importing
    the images again (≈ 30 s on a loaded machine)."""
    from .host import unmount_under  # noqa: PLC0415 (host imports deps only; keep it light)

    with open(cache_dir() / "containerd-root.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if seed_ready():
            return 0.0
        started = time.monotonic()
        new, state = cache_dir() / "containerd-root.new", Path(tempfile.mkdtemp(
            prefix="jrk-k8s-seed-"))
        shutil.rmtree(new, ignore_errors=True)
        (state / "containerd.toml").write_text(SEED_TOML.format(root=new, state=state))
        log = cache_dir() / "logs" / "seed.log"
        ctr = [program("ctr"), "--address", str(state / "sock"), "-n", "k8s.io"]
        with open(log, "ab") as out:
            daemon = subprocess.Popen(
                ["nice", "-n", "10", program("containerd"), "--config",
                 str(state / "containerd.toml")], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while subprocess.run([*ctr, "version"], capture_output=True, timeout=10,
                                 check=False).returncode:
                if daemon.poll() is not None or time.monotonic() > deadline:
                    msg = f"the image-importing containerd did not start (log {log})"
                    raise K8sClusterError(msg)
                time.sleep(0.2)
            for name in IMAGES:
                run_logged([*ctr, "images", "import", "--snapshotter", "overlayfs",
                            str(image_tar(name))], log, cwd=state, env=dict(os.environ),
                           timeout=timeout, what=f"importing the {name} image")
        finally:
            daemon.terminate()
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(10)
            unmount_under(state)
            unmount_under(new)
            shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(seed_dir(), ignore_errors=True)
        new.rename(seed_dir())
        (cache_dir() / "containerd-root.stamp").write_text(_seed_stamp())
        return time.monotonic() - started


def clone_seed(dest: Path) -> None:
    """*dest* becomes a copy of the seeded root: files hard-linked (content blobs and
    committed layers are never written in place; overlayfs copies up), the bolt databases
    copied, since containerd writes them."""
    build_seed()
    with open(cache_dir() / "containerd-root.lock") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(["cp", "-al", str(seed_dir()), str(dest)], capture_output=True,
                              text=True, check=False, timeout=300)
        if proc.returncode:
            msg = f"cloning the containerd root {seed_dir()} failed: {proc.stderr.strip()}"
            raise K8sClusterError(msg)
        for db in seed_dir().rglob("*.db"):
            target = dest / db.relative_to(seed_dir())
            target.unlink()
            shutil.copy2(db, target)
