"""Jupyter Server configuration for the browser tests (galata / Playwright).

Started by Playwright's ``webServer`` (see playwright.config.js) as
``jupyter lab --config jupyter_server_test_config.py``. Everything it makes lives in a
temporary folder removed when the server exits:

* the server's root dir (notebooks the tests write),
* the first kernelspec folder (JUPYTER_PATH), the only one the server lists, with
  ``remote-python`` (the shipped local spec), ``remote-slow`` (the launcher started
  after a sleep: the launch waits in a visible phase), ``remote-crash`` (the launcher
  dies before calling back: a 500 with a readable message), ``remote-badspec`` (an
  unknown placement class: a 400), ``remote-pool`` (the local launcher with a warm pool of
  2: the Running panel's "Warm pool" line), ``remote-pool-broken`` (a warm pool of 1 whose
  launcher dies before calling back: a pool that cannot be filled, and says why), and, when
  the SSH provisioner is installed (entry point ``jrk-ssh-provisioner``) and ``sshd``
  exists, ``remote-ssh`` on the hosts of an SSH test bed (testing/sshbed/) this config
  starts and stops with the server, and, when the Slurm provisioner
  (``jrk-slurm-provisioner``) and Slurm's Debian packages are installed, ``remote-slurm``
  (partition ``debug``, as ``jupyter remote-kernels install slurm`` writes it) on a real
  Slurm test cluster (testing/slurmcluster/: munged, slurmctld, one 1-CPU slurmd in each
  of two network-namespace hosts) started and stopped with the server too (its state
  files let a later run remove what a crashed run left), and ``toy`` (the toy backend of
  testing/toybackend/, registered through its entry points in a folder put on this
  server's path, as an installed package would be: a backend the lab extension does not
  know, shown as the server describes it), and, when the Kubernetes provisioner
  (``jrk-k8s-provisioner``) and the real Kubernetes test cluster's parts are there,
  ``remote-k8s`` (the shipped k8s template, testing/k8sspecs.py) and ``remote-k8s-big`` (the
  same asking for 64 CPUs: the scheduler keeps its pod Pending and says why, until the
  launch timeout of 60 s) on a real
  single-node cluster (testing/k8scluster/) started and stopped with the server.

``jrk-ui-tests.json`` in the root dir tells the tests what is there (ssh hosts, the Slurm
cluster's nodes and SLURM_CONF...).
Never use this configuration for anything else: it turns every protection off.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import entry_points
from pathlib import Path

import jupyterlab.galata

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SLOW_LAUNCH_SECONDS = float(os.environ.get("JRK_UI_SLOW_LAUNCH", "8"))

_tmp = Path(tempfile.mkdtemp(prefix="jrk-ui-tests-"))
_root = _tmp / "root"
_kernels = _tmp / "share" / "kernels"
_root.mkdir()
_kernels.mkdir(parents=True)
# Read before the kernelspec manager first lists its folders (after this file is loaded).
os.environ["JUPYTER_PATH"] = str(_kernels.parent)

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
# What jupyterlab.galata.configure_jupyter_server sets, minus the temporary folders it
# makes and never removes.
c.ServerApp.open_browser = False
c.ServerApp.port_retries = 0
c.IdentityProvider.token = ""
c.ServerApp.password = ""
c.ServerApp.disable_check_xsrf = True
c.LabApp.expose_app_in_browser = True
c.LabApp.workspaces_dir = str(_tmp / "workspaces")

# Test the extension as built in this work tree (jlpm build), not a copy an earlier
# `pip install` left in share/jupyter/labextensions: the first path that has it wins.
_built = REPO / "jupyter_remote_kernels" / "labextension"
if not (_built / "package.json").is_file():
    raise SystemExit(f"{_built} is missing: run `jlpm build` in labextension/ first")
(_tmp / "labextensions").mkdir()
(_tmp / "labextensions" / "jupyter-remote-kernels").symlink_to(_built)
c.LabServerApp.extra_labextensions_path = [
    str(_tmp / "labextensions"),
    str(Path(jupyterlab.galata.__file__).parent),  # galata's helper extension
]

c.ServerApp.port = int(os.environ.get("JRK_UI_PORT", "18888"))
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.jpserver_extensions = {"jupyter_remote_kernels": True}
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"

c.ServerApp.root_dir = str(_root)
c.ServerApp.allow_root = True
c.KernelSpecManager.ensure_native_kernel = False
c.MappingKernelManager.default_kernel_name = "remote-python"

_cleanups = []


def _cleanup() -> None:
    while _cleanups:
        try:
            _cleanups.pop()()
        except Exception as exc:  # report and go on: the rest must still be torn down
            print(f"jrk-ui-tests: cleanup failed: {exc!r}", file=sys.stderr)


atexit.register(_cleanup)
_cleanups.append(lambda: shutil.rmtree(_tmp, ignore_errors=True))


def write_spec(name: str, spec: dict) -> None:
    folder = _kernels / name
    folder.mkdir()
    spec = {"language": "python", "display_name": name, **spec}
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))


_shipped = json.loads((REPO / "kernelspecs" / "local" / "kernel.json").read_text())
LAUNCHER_ARGV = _shipped["argv"]  # ["python", "{launcher}", "--kernel-id", ...]
LOCAL = {"process_proxy": {"class_name": "local", "config": {"launch_timeout": 60}}}

write_spec("remote-python", {**_shipped, "display_name": "Python (remote launcher, local)"})
write_spec(
    "remote-slow",
    {
        "display_name": "Python (slow launch)",
        # Sleep, then become the launcher: the launch waits for its callback meanwhile.
        "argv": [
            LAUNCHER_ARGV[0],
            "-c",
            f"import os, sys, time; time.sleep({SLOW_LAUNCH_SECONDS}); "
            "os.execv(sys.executable, [sys.executable] + sys.argv[1:])",
            *LAUNCHER_ARGV[1:],
        ],
        "metadata": LOCAL,
    },
)
write_spec(
    "remote-crash",
    {
        "display_name": "Python (launch fails)",
        "argv": [
            LAUNCHER_ARGV[0],
            "-c",
            "import sys; sys.stderr.write('launcher: cannot import ipykernel\\n'); sys.exit(3)",
            "{response_address}",
        ],
        "metadata": {"process_proxy": {"class_name": "local", "config": {"launch_timeout": 30}}},
    },
)
write_spec(
    "remote-pool",
    {
        "display_name": "Python (warm pool)",
        "argv": LAUNCHER_ARGV,
        "metadata": {
            "process_proxy": {
                "class_name": "local",
                "config": {"launch_timeout": 60, "pool_size": 2},
            }
        },
    },
)
write_spec(
    "remote-pool-broken",
    {
        "display_name": "Python (warm pool, broken)",
        "argv": [
            LAUNCHER_ARGV[0],
            "-c",
            "import sys; sys.stderr.write('launcher: no such interpreter\\n'); sys.exit(4)",
            "{response_address}",
        ],
        "metadata": {
            "process_proxy": {
                "class_name": "local",
                "config": {"launch_timeout": 30, "pool_size": 1},
            }
        },
    },
)
write_spec(
    "remote-badspec",
    {
        "display_name": "Python (bad kernelspec)",
        "argv": LAUNCHER_ARGV,
        "metadata": {"process_proxy": {"class_name": "local", "config": {"port_range": "abc"}}},
    },
)

c.KernelSpecManager.allowed_kernelspecs = {p.name for p in _kernels.iterdir()}
info: dict = {"kernels": sorted(p.name for p in _kernels.iterdir()), "ssh": None,
              "slurm": None, "toy": None, "k8s": None}


def _provisioner(name: str):
    for ep in entry_points().select(group="jupyter_client.kernel_provisioners"):
        if ep.name == name:
            return ep.load()
    return None


def _record(kind: str, kernels: list[str], facts: dict) -> None:
    """What the ``kind`` tests read (``jrk-ui-tests.json``); its kernelspecs allowed."""
    info["kernels"] += kernels
    c.KernelSpecManager.allowed_kernelspecs = set(info["kernels"])
    info[kind] = facts


def _start_ssh() -> None:
    if _provisioner("jrk-ssh-provisioner") is None:
        info["ssh_skipped"] = "the SSH provisioner (jrk-ssh-provisioner) is not installed"
        return
    if not (shutil.which("sshd") or os.access("/usr/sbin/sshd", os.X_OK)):
        info["ssh_skipped"] = "sshd is not installed"
        return
    sys.path.insert(0, str(REPO))
    from testing.sshbed import SSHTestBed

    bed = SSHTestBed(2, _tmp / "sshbed")
    _cleanups.append(bed.stop)  # after the server stopped its kernels (atexit order)
    bed.start()
    # The SSH tests' own kernelspec for a bed: kept in step with the SSH provisioner.
    from testing.specs import ssh_spec

    spec = ssh_spec(bed, launch_timeout=60)
    spec.pop("language", None)
    write_spec("remote-ssh", {**spec, "display_name": "Python (SSH test hosts)"})
    _record("ssh", ["remote-ssh"], {
        "mode": bed.mode,
        "hosts": [{"address": h.address, "hostname": h.hostname} for h in bed.hosts],
    })  # fmt: skip


def _start_cluster(kind: str, provisioner: str, what: str, cluster_class: str, missing: str):
    """Start a real test cluster (``cluster_class``, ``missing``: ``module:name``) for the
    ``kind`` tests and stop it at exit, after the server stopped its kernels (atexit order).
    None, with the reason in ``info["KIND_skipped"]``, when ``provisioner`` is not
    installed or the cluster cannot start on this machine."""
    if _provisioner(provisioner) is None:
        info[f"{kind}_skipped"] = f"the {what} provisioner ({provisioner}) is not installed"
        return None
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))

    def load(name: str):
        module, attr = name.split(":")
        return getattr(importlib.import_module(module), attr)

    gaps = load(missing)()
    if gaps:
        info[f"{kind}_skipped"] = f"the real {what} test cluster cannot start: " + "; ".join(gaps)
        return None
    cluster = load(cluster_class)(workdir=_tmp / f"{kind}cluster", label="ui-tests")
    _cleanups.append(cluster.stop)
    cluster.start()
    return cluster


def _start_slurm() -> None:
    cluster = _start_cluster("slurm", "jrk-slurm-provisioner", "Slurm",
                             "testing.slurmcluster:SlurmTestCluster",
                             "testing.slurmcluster.deps:missing")  # fmt: skip
    if cluster is None:
        return
    slurm_conf = cluster.env()["SLURM_CONF"]
    # As an admin installs it (the CLI), then the tests' poll interval.
    prefix = _tmp / "slurm-prefix"
    subprocess.run(
        [sys.executable, "-m", "jupyter_remote_kernels.cli", "install", "slurm",
         "--partition", "debug", "--slurm-conf", slurm_conf, "--python", sys.executable,
         "--prefix", str(prefix), "--name", "remote-slurm", "--launch-timeout", "120"],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    target = _kernels / "remote-slurm"
    (prefix / "share" / "jupyter" / "kernels" / "remote-slurm").rename(target)
    spec = json.loads((target / "kernel.json").read_text())
    spec["display_name"] = "Python (Slurm test cluster)"
    spec["metadata"]["process_proxy"]["config"].update(
        {"slurm_poll_interval": 0.5, "cancel_timeout": 60}
    )
    (target / "kernel.json").write_text(json.dumps(spec, indent=1))
    _record("slurm", ["remote-slurm"],
            {"slurm_conf": slurm_conf, "partition": "debug", "nodes": cluster.node_names})


def _start_toy() -> None:
    """Register the toy backend for this server (and its kernels) and write its kernelspec."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from testing import toybackend

    site = toybackend.install_entry_points(_tmp / "toy-site")
    # importlib.metadata reads sys.path when asked: the server finds the entry points
    # from here on; PYTHONPATH gives them to what it starts.
    sys.path.insert(0, str(site))
    os.environ["PYTHONPATH"] = toybackend.python_path(site, os.environ.get("PYTHONPATH", ""))
    folder = toybackend.write_kernelspec(_kernels, sandbox="sandbox-ui")
    spec = json.loads((folder / "kernel.json").read_text())
    _record("toy", [folder.name], {"kernel": folder.name,
                                   "display_name": spec["display_name"],
                                   "sandbox": "sandbox-ui"})  # fmt: skip


def _start_k8s() -> None:
    cluster = _start_cluster("k8s", "jrk-k8s-provisioner", "Kubernetes",
                             "testing.k8scluster:K8sTestCluster",
                             "testing.k8scluster:missing")  # fmt: skip
    if cluster is None:
        return
    from testing.k8sspecs import k8s_spec

    write_spec("remote-k8s", k8s_spec(cluster, display_name="Python (Kubernetes test cluster)",
                                      launch_timeout=120))
    write_spec("remote-k8s-big", k8s_spec(
        cluster, display_name="Python (Kubernetes, 64 CPUs)", launch_timeout=60,
        resources={"requests": {"cpu": "64"}}))
    pki = cluster.workdir / "pki"
    _record("k8s", ["remote-k8s", "remote-k8s-big"],
            {"server": cluster.server, "node": cluster.node_name, "namespace": "default",
             "ca": str(pki / "ca.crt"), "cert": str(pki / "admin.crt"),
             "key": str(pki / "admin.key")})  # fmt: skip


# Each part on its own: when one cannot start, the others' tests still run and its own
# test fails with the reason (a failed command's stderr included).
for _kind, _start, _failed in (
    ("toy", _start_toy, "the toy backend could not be registered"),
    ("ssh", _start_ssh, "the SSH test bed did not start"),
    ("slurm", _start_slurm, "the Slurm test cluster did not start"),
    ("k8s", _start_k8s, "the Kubernetes test cluster did not start"),
):
    try:
        _start()
    except Exception as exc:
        detail = getattr(exc, "stderr", "") or ""
        info[f"{_kind}_error"] = f"{_failed}: {exc!r} {detail}".strip()
        print(f"jrk-ui-tests: {info[f'{_kind}_error']}", file=sys.stderr)

(_root / "jrk-ui-tests.json").write_text(json.dumps(info, indent=1))
