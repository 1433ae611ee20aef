"""Building the Kubernetes binaries from the Go module proxy (:func:`build_binaries`).

``k8s.io/kubernetes`` cannot be ``go install``-ed: its go.mod replaces every staging module
(``k8s.io/api``, ``k8s.io/client-go``, ...) with a folder of its own repository. A small wrapper
module requires ``k8s.io/kubernetes`` and replaces each staging module with its published
``v0.X.Y`` instead; one ``go build`` of the four commands then shares every package. The Go
module and build caches live in the cache folder too, so a rebuild after a change of flags is
warm (about a minute) and a second run needs no build at all.

Times on 2 shared cores: cold ≈ 10-15 min (``go build -p 1``, ``nice -n 19``), warm ≈ 1 min.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from .deps import K8S_VERSION, K8sClusterError, bin_dir, cache_dir, go_binary

__all__ = ["BINARIES", "STAGING", "binaries_ready", "build_binaries", "go_env", "prepare_source",
           "run_logged"]

#: What the cluster runs (kubectl is not needed: tests talk to the API with a client).
BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet")

#: Every ``k8s.io/<name>`` under kubernetes' ``staging/src/k8s.io`` that the proxy serves
#: (``sample-cli-plugin`` and ``sample-controller`` are not served and not needed).
STAGING = (
    "api", "apiextensions-apiserver", "apimachinery", "apiserver", "cli-runtime", "client-go",
    "cloud-provider", "cluster-bootstrap", "code-generator", "component-base",
    "component-helpers", "controller-manager", "cri-api", "cri-client", "csi-translation-lib",
    "dynamic-resource-allocation", "endpointslice", "externaljwt", "kms", "kube-aggregator",
    "kube-controller-manager", "kube-proxy", "kube-scheduler", "kubectl", "kubelet", "metrics",
    "mount-utils", "pod-security-admission", "sample-apiserver",
)


def staging_version() -> str:
    """``v1.34.4`` → ``v0.34.4`` (the staging modules' tags)."""
    return "v0." + K8S_VERSION.removeprefix("v1.")


def go_env() -> dict[str, str]:
    """Environment for ``go``: module and build caches in the cache folder, the proxy as set."""
    root = cache_dir() / "go"
    env = dict(os.environ)
    env.update(GOMODCACHE=str(root / "mod"), GOCACHE=str(root / "cache"), CGO_ENABLED="0",
               GOFLAGS="-mod=mod")
    # k8s 1.34 needs Go >= 1.24; an older local go (>= 1.21) fetches that toolchain from the
    # module proxy by itself (module golang.org/toolchain) unless the caller said otherwise.
    env.setdefault("GOTOOLCHAIN", "auto")
    return env


def wrapper_gomod() -> str:
    replaces = "\n".join(f"\tk8s.io/{name} => k8s.io/{name} {staging_version()}"
                         for name in STAGING)
    return (f"module jrk.test/k8sbuild\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes {K8S_VERSION}\n"
            f"\nreplace (\n{replaces}\n)\n")


def run_logged(argv: list[str], log: Path, *, cwd: Path, env: dict[str, str],
               timeout: float, what: str) -> None:
    """Run *argv* niced with its output in *log*; a failure raises naming the log's tail."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        try:
            proc = subprocess.run(["nice", "-n", "19", *argv], cwd=cwd, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            msg = f"{what} took more than {timeout:.0f} s (log: {log})"
            raise K8sClusterError(msg) from exc
    if proc.returncode:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        msg = f"{what} failed (exit {proc.returncode}; log: {log}):\n{tail}"
        raise K8sClusterError(msg)


def prepare_source() -> Path:
    """The wrapper module's folder (go.mod written unless it is there already: go adds the
    requirements it resolves to it, and keeps go.sum beside it)."""
    src = cache_dir() / "src" / "k8s"
    src.mkdir(parents=True, exist_ok=True)
    gomod = wrapper_gomod()
    if not (src / "go.mod").exists() or not (src / "go.mod").read_text().startswith(gomod):
        (src / "go.mod").write_text(gomod)
    return src


def binaries_ready() -> bool:
    stamp = bin_dir() / "VERSION"
    return (stamp.exists() and stamp.read_text().strip() == K8S_VERSION
            and all(os.access(bin_dir() / name, os.X_OK) for name in BINARIES))


def build_binaries(*, jobs: int = 1, timeout: float = 7200.0, force: bool = False) -> float:
    """Build the four binaries into ``bin_dir()`` unless they are there; return seconds spent."""
    if binaries_ready() and not force:
        return 0.0
    go = go_binary()
    src = prepare_source()
    out = cache_dir() / "bin.new"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    ldflags = ("-s -w"
               f" -X k8s.io/component-base/version.gitVersion={K8S_VERSION}"
               f" -X k8s.io/client-go/pkg/version.gitVersion={K8S_VERSION}")
    started = time.monotonic()
    run_logged([go, "build", f"-p={jobs}", "-trimpath", f"-ldflags={ldflags}", "-o", str(out),
                *(f"k8s.io/kubernetes/cmd/{name}" for name in BINARIES)],
               cache_dir() / "logs" / "build.log", cwd=src, env=go_env(), timeout=timeout,
               what=f"building Kubernetes {K8S_VERSION} ({', '.join(BINARIES)})")
    (out / "VERSION").write_text(K8S_VERSION + "\n")
    shutil.rmtree(bin_dir(), ignore_errors=True)
    out.rename(bin_dir())
    return time.monotonic() - started
