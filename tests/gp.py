"""gateway_provisioners (GP) 0.5, installed apart from the server's environment.

The legacy-launcher tests run GP's real ``launch_ipykernel.py`` (Enterprise Gateway's
lineage: RSA+AES payload, unauthenticated ``{"signum"}`` / ``{"shutdown"}`` comm port) and
make kernelspecs with GP's own ``jupyter-ssh-spec`` / ``jupyter-yarn-spec``. GP is installed
with ``pip install --target`` into a folder that is *not* on the server's ``sys.path``, so
its provisioners are not registered for the server under test (nor for anyone else): the
server must place GP's kernelspecs by itself. The launchers get the folder (for GP's
``Cryptodome``) on their ``PYTHONPATH`` through the kernelspec's ``env``.

The folder is ``$JRK_GP_DIR`` (default ``/opt/jrk-gp``); ``.ci/run`` makes it. A missing
one fails the tests (never skips) with the command that makes it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GP_VERSION = "0.5.0"
DEFAULT_DIR = "/opt/jrk-gp"


def install_command(folder: Path) -> str:
    return (
        f"python3 -m pip install --no-deps --target {folder} "
        f"gateway_provisioners=={GP_VERSION} pycryptodomex psutil"
    )


def gp_dir() -> Path:
    """The folder holding GP, pycryptodomex and psutil; fails the test when it is missing.

    psutil is there because with it ipykernel waits for its children at shutdown, which is
    what makes GP's launcher slow to stop (see LegacyCommClient); most kernels have it.
    """
    folder = Path(os.environ.get("JRK_GP_DIR", DEFAULT_DIR))
    missing = [
        name
        for name in ("gateway_provisioners", "Cryptodome", "psutil", "bin/jupyter-ssh-spec")
        if not (folder / name).exists()
    ]
    if missing:
        pytest.fail(
            f"gateway_provisioners is not installed in {folder} (missing {', '.join(missing)}); "
            f"make it with: {install_command(folder)}  (or point JRK_GP_DIR at such a folder)"
        )
    return folder


def gp_env(folder: Path) -> dict[str, str]:
    """Environment that sees GP (its spec apps, its launcher's imports)."""
    return dict(os.environ, PYTHONPATH=str(folder))


def package_launcher(folder: Path) -> Path:
    """GP's launcher file, found through the installed package itself."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, gateway_provisioners as gp; print(os.path.dirname(gp.__file__))",
        ],
        env=gp_env(folder),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    scripts = Path(out.stdout.strip()) / "kernel-launchers" / "python" / "scripts"
    return scripts / "launch_ipykernel.py"


def install_spec(folder: Path, app: str, prefix: Path, name: str, *options: str) -> Path:
    """Run GP's ``jupyter-<app>-spec install``; returns the installed kernelspec folder.

    Checks that the launcher it installed is the installed package's own file.
    """
    made = subprocess.run(
        [
            sys.executable,
            str(folder / "bin" / f"jupyter-{app}-spec"),
            "install",
            "--prefix",
            str(prefix),
            "--kernel-name",
            name,
            *options,
        ],
        env=gp_env(folder),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    spec_dir = prefix / "share" / "jupyter" / "kernels" / name
    assert made.returncode == 0, made.stderr
    spec = json.loads((spec_dir / "kernel.json").read_text())
    assert "${" not in json.dumps(spec["argv"]), f"GP left its template unfilled: {made.stderr}"
    launcher = spec_dir / "scripts" / "launch_ipykernel.py"
    assert launcher.read_bytes() == package_launcher(folder).read_bytes()
    return spec_dir


#: Restart / delete with GP's launcher may take at most this times ours, plus SLACK seconds
#: (both are well under a second: the slack keeps scheduler noise on a shared 2-core
#: machine from failing a comparison of two tiny numbers).
RATIO = 1.5


SLACK = 0.3
