"""gateway_provisioners' kernel image, built here (:func:`build_gp_image`) for the benchmark's
``gp-k8s`` peer, and imported into one running cluster (:func:`import_image`).

GP's ``KubernetesProvisioner`` runs ``launch_kubernetes.py`` on the server, which creates a pod
of the kernelspec's image and expects GP's launcher *inside* that image: its Dockerfiles (the
``elyra/kernel-py`` images) copy ``bootstrap-kernel.sh`` and ``kernel-launchers/python/scripts``
to ``/usr/local/bin``, set ``KERNEL_LANGUAGE=python`` and run the bootstrap as the command;
the launcher needs pycryptodomex. No registry is reachable here, so the same image is made
the way :mod:`.images` makes the Python one: the Python + ipykernel image's layer, plus one
layer with Debian's static ``tini`` as PID 1 (as in GP's docker-stacks based images) and
GP's files from its installed package (``$JRK_GP_DIR``, default ``/opt/jrk-gp``:
``bootstrap-kernel.sh``, ``launch_ipykernel.py`` with the shared ``server_listener.py`` as
GP's "kernel-launcher assembly" places it, its ``Cryptodome`` (abi3 wheel) and a
``python`` command), as a docker-archive tar in the image cache.

The image is not part of the seeded containerd root every cluster clones (that root is shared
with every checkout on the machine): :func:`import_image` loads it into a running cluster's
own containerd (≈ 10-30 s), for the benchmark run only.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

from .deps import K8sClusterError, image_dir, program
from .images import _root_owned, _sha256_file, build_images, image_tar

__all__ = ["GP_IMAGE", "build_gp_image", "gp_dir", "import_image"]

GP_IMAGE = "jrk.test/gp-kernel-py:0.5.0-1"
LAUNCHERS = "/usr/local/bin/kernel-launchers"


def gp_dir() -> Path:
    return Path(os.environ.get("JRK_GP_DIR", "/opt/jrk-gp"))


def _gp_files(gp: Path) -> list[tuple[Path, str, int]]:
    """(source, path in the image, mode) of GP's files; FileNotFoundError naming a lack."""
    pkg = gp / "gateway_provisioners" / "kernel-launchers"
    files = [(pkg / "bootstrap" / "bootstrap-kernel.sh", "usr/local/bin/bootstrap-kernel.sh",
              0o755)]
    # GP's image assembly puts the shared listener over the placeholder next to the launcher.
    for src in (pkg / "python" / "scripts" / "launch_ipykernel.py",
                pkg / "shared" / "scripts" / "server_listener.py"):
        files.append((src, f"{LAUNCHERS.lstrip('/')}/python/scripts/{src.name}", 0o644))
    crypto = gp / "Cryptodome"
    files += [(p, f"usr/local/lib/python3.11/dist-packages/Cryptodome/{p.relative_to(crypto)}",
               0o755 if p.suffix == ".so" else 0o644)
              for p in sorted(crypto.rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
    lacking = [str(src) for src, _, _ in files[:3] if not src.is_file()]
    if lacking or not crypto.is_dir():
        msg = (f"gateway_provisioners is not installed in {gp} (lacking "
               f"{lacking or [str(crypto)]}): pip install --no-deps --target {gp} "
               "gateway_provisioners==0.5.0 pycryptodomex psutil")
        raise FileNotFoundError(msg)
    return files


def _tini(work: Path) -> Path:
    """Debian's static tini (``apt-get download tini``, unpacked): the init GP's images run
    as PID 1 (docker-stacks' ``ENTRYPOINT ["tini", "-g", "--"]``). Without it the bootstrap
    shell is PID 1, the kernel's parent PID is 1, and ipykernel's parent poller ends the
    kernel at once ("Parent appears to have exited")."""
    folder = work / "tini"
    folder.mkdir()
    def run(argv: list[str]) -> None:
        done = subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=300,
                              check=False)
        if done.returncode:
            msg = f"{' '.join(argv)} failed: {(done.stderr or done.stdout).strip()[-300:]}"
            raise K8sClusterError(msg)

    run(["apt-get", "download", "-q", "tini"])
    debs = list(folder.glob("tini_*.deb"))
    if not debs:
        msg = "apt-get download tini left no .deb"
        raise K8sClusterError(msg)
    run(["dpkg-deb", "-x", str(debs[0]), str(folder / "root")])
    return folder / "root" / "usr" / "bin" / "tini-static"


def _gp_layer(gp: Path, out: Path, tini: Path) -> None:
    dirs: set[str] = set()
    with tarfile.open(out, "w") as tar:
        for src, dest, mode in _gp_files(gp):
            parts = dest.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                folder = "/".join(parts[:i])
                if folder not in dirs:
                    dirs.add(folder)
                    info = _root_owned(tarfile.TarInfo(folder), 0o755)
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
            tar.add(src, arcname=dest, filter=lambda i, m=mode: _root_owned(i, m))
        tar.add(tini, arcname="usr/local/bin/tini", filter=lambda i: _root_owned(i, 0o755))
        link = _root_owned(tarfile.TarInfo("usr/local/bin/python"), 0o777)
        link.type, link.linkname = tarfile.SYMTYPE, "/usr/bin/python3"
        tar.addfile(link)


def _stamp(gp: Path) -> str:
    sources = [src for src, _, _ in _gp_files(gp)]
    digest = hashlib.sha256()
    for src in sources:
        digest.update(src.read_bytes())
    base = image_tar("python").stat()
    return f"{GP_IMAGE} {digest.hexdigest()} {base.st_size} {int(base.st_mtime)}\n"


def build_gp_image(gp: Path | None = None, *, force: bool = False) -> Path:
    """The image's docker-archive tar (built when missing or when GP's files or the Python
    image changed): two layers, the Python image's and GP's."""
    gp = gp or gp_dir()
    build_images()  # the Python image it builds on
    out, stamp = image_dir() / "gp-kernel-py.tar", image_dir() / "gp-kernel-py.ref"
    want = _stamp(gp)
    if not force and out.is_file() and stamp.is_file() and stamp.read_text() == want:
        return out
    work = image_dir() / "gp-kernel-py.work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        with tarfile.open(image_tar("python")) as base:
            manifest = json.load(base.extractfile("manifest.json"))[0]
            config = json.load(base.extractfile(manifest["Config"]))
            base_layer = manifest["Layers"][0]
            base.extract(base_layer, work, filter="fully_trusted")
        _gp_layer(gp, work / "gp-layer.tar", _tini(work))
        gp_diff = _sha256_file(work / "gp-layer.tar")
        config["rootfs"]["diff_ids"].append(f"sha256:{gp_diff}")
        config["config"].update(
            Entrypoint=["/usr/local/bin/tini", "-g", "--"],
            Cmd=["/usr/local/bin/bootstrap-kernel.sh"],
            Env=[*config["config"]["Env"], "KERNEL_LANGUAGE=python",
                 f"KERNEL_LAUNCHERS_DIR={LAUNCHERS}"])
        config["history"].append({"created_by": "testing.k8scluster.gpimage"})
        data = json.dumps(config, sort_keys=True).encode()
        config_name = hashlib.sha256(data).hexdigest() + ".json"
        layers = [base_layer, f"{gp_diff}/layer.tar"]
        new_manifest = json.dumps([{"Config": config_name, "RepoTags": [GP_IMAGE],
                                    "Layers": layers}]).encode()
        tmp = out.with_suffix(".tmp")
        with tarfile.open(tmp, "w") as tar:
            for name, blob in (("manifest.json", new_manifest), (config_name, data)):
                info = tarfile.TarInfo(name)
                info.size, info.mtime = len(blob), int(time.time())
                tar.addfile(info, io.BytesIO(blob))
            tar.add(work / base_layer, arcname=base_layer)
            tar.add(work / "gp-layer.tar", arcname=layers[1])
        tmp.replace(out)
        stamp.write_text(want)
    except (OSError, KeyError, ValueError, tarfile.TarError) as exc:
        msg = f"building {GP_IMAGE} failed: {exc}"
        raise K8sClusterError(msg) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def import_image(cluster, tar: Path, timeout: float = 600.0) -> None:
    """Load a docker-archive into a running cluster's own containerd (namespace k8s.io)."""
    proc = subprocess.run(
        [program("ctr"), "--address", str(cluster.containerd_socket), "-n", "k8s.io",
         "images", "import", "--snapshotter", "overlayfs", str(tar)],
        capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode:
        msg = f"importing {tar} into cluster {cluster.id} failed: {proc.stderr.strip()[-400:]}"
        raise K8sClusterError(msg)
