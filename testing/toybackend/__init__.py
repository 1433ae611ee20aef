"""A toy placement backend, registered at test time: the proof that a backend is a plugin.

It lives only here, under ``testing/``: a provisioner of its own (:class:`ToyProvisioner`,
the launcher as a local child process in a named "sandbox"), its own ``location()`` and
``details``, install options and a kernelspec template. Nothing of the package's core
names it. Tests (and the lab extension's browser tests) register it through the entry
point groups, the way an installed package would be found::

    folder = install_entry_points(tmp_path / "site")   # a *.dist-info with entry_points.txt
    env["PYTHONPATH"] = python_path(folder)             # for a server process
    write_kernelspec(kernels_dir)                       # kernels_dir/toy/kernel.json
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from traitlets import Unicode

from jupyter_remote_kernels.backends import Backend, BackendError, InstallOptions

from .provisioner import ToyProvisioner

__all__ = [
    "BACKEND",
    "KIND",
    "PROVISIONER_NAME",
    "ToyInstallOptions",
    "ToyProvisioner",
    "install_entry_points",
    "python_path",
    "write_kernelspec",
]

KIND = "toy"
PROVISIONER_NAME = "toy-provisioner"
TEMPLATE = Path(__file__).parent / "template"
#: The folder holding the ``testing`` package: a server process must have it on its path.
REPO = Path(__file__).resolve().parents[2]


class ToyInstallOptions(InstallOptions):
    """``jupyter remote-kernels install toy`` options."""

    sandbox = Unicode("sandbox-1", config=True, help="toy: the sandbox kernels run in.")

    def fields(self, app: Any) -> dict[str, Any]:
        if not self.sandbox.strip():
            msg = "install toy needs a --sandbox name"
            raise BackendError(msg)
        return {
            "SANDBOX": self.sandbox.strip(),
            "PYTHON": app.python,
            "DISPLAY_NAME": app.display_name or f"Python 3 (toy, {self.sandbox.strip()})",
        }


BACKEND = Backend(
    name=KIND,
    provisioner_name=PROVISIONER_NAME,
    template=TEMPLATE,
    install_options=ToyInstallOptions,
)


def install_entry_points(folder: Path) -> Path:
    """Register the toy backend in ``folder`` (a ``*.dist-info`` with ``entry_points.txt``).

    Anything that has ``folder`` (and :data:`REPO`) on its ``sys.path`` finds the toy
    backend through ``importlib.metadata`` like an installed package. Returns ``folder``.
    """
    dist = Path(folder) / "jrk_toy_backend-0.0.1.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: jrk-toy-backend\nVersion: 0.0.1\n"
    )
    (dist / "entry_points.txt").write_text(
        "[jupyter_remote_kernels.backends]\n"
        f"{KIND} = testing.toybackend:BACKEND\n\n"
        "[jupyter_client.kernel_provisioners]\n"
        f"{PROVISIONER_NAME} = testing.toybackend:ToyProvisioner\n"
    )
    return Path(folder)


def python_path(folder: Path, base: str = "") -> str:
    """A ``PYTHONPATH`` that finds the toy backend: ``folder``, the repository, then ``base``."""
    parts = [str(folder), str(REPO), *([base] if base else [])]
    return os.pathsep.join(parts)


def write_kernelspec(kernels_dir: Path, name: str = KIND, sandbox: str = "sandbox-1") -> Path:
    """Write the toy kernelspec ``kernels_dir/name`` (the template, filled); returns its folder."""
    spec = json.loads((TEMPLATE / "kernel.json").read_text())
    spec["argv"][0] = "python"
    spec["display_name"] = f"Python 3 (toy, {sandbox})"
    spec["metadata"]["process_proxy"]["config"]["sandbox"] = sandbox
    folder = Path(kernels_dir) / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(spec, indent=2) + "\n")
    return folder
