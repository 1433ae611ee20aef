"""Enterprise Gateway's own integration tests (``enterprise_gateway/itests``), from its
released source on PyPI, unmodified.

    python -m testing.eg_itests fetch     # the sdist into ~/.cache/jrk-eg (once; idempotent)

:func:`sdist` finds (or fetches) the sdist; :func:`extract` unpacks the parts the itests
need (the package's ``__init__``/``_version``, ``itests`` and ``client``) into a folder to put
on ``PYTHONPATH``, without installing EG (its dependencies pin jupyter_server < 2). The 3.3.0
sdist holds ``itests`` (with its ``authorization_test`` kernelspec) and ``client``; so does
the wheel, but the source is what EG's own CI runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Optional

__all__ = ["EG_VERSION", "EgItestsError", "cache_dir", "extract", "extract_files", "fetch", "sdist"]

#: The released version whose itests run (pinned: a new release is a deliberate update).
EG_VERSION = "3.3.0"
#: What the itests need of the sdist (paths inside its top folder).
NEEDED = (
    "enterprise_gateway/__init__.py",
    "enterprise_gateway/_version.py",
    "enterprise_gateway/client/",
    "enterprise_gateway/itests/",
)


class EgItestsError(RuntimeError):
    """The sdist could not be fetched or does not hold what the itests need."""


def cache_dir() -> Path:
    """``$JRK_EG_CACHE`` or ``~/.cache/jrk-eg``."""
    return Path(os.environ.get("JRK_EG_CACHE") or Path.home() / ".cache" / "jrk-eg")


def _cached() -> Optional[Path]:
    found = cache_dir() / f"jupyter_enterprise_gateway-{EG_VERSION}.tar.gz"
    return found if found.is_file() else None


def fetch() -> Path:
    """The sdist from PyPI into the cache (``pip download --no-binary :all:``), once."""
    found = _cached()
    if found is not None:
        return found
    cache_dir().mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
        "--dest", str(cache_dir()), f"jupyter_enterprise_gateway=={EG_VERSION}",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    found = _cached()
    if done.returncode or found is None:
        msg = (
            f"pip download of jupyter_enterprise_gateway=={EG_VERSION}'s sdist failed "
            f"(exit {done.returncode}): {(done.stderr or done.stdout).strip()[-600:]}"
        )
        raise EgItestsError(msg)
    return found


def sdist() -> Path:
    """The cached sdist, fetched first if it is not there."""
    return _cached() or fetch()


def extract(target: Path) -> Path:
    """Unpack what the itests need into ``target``; returns the folder for PYTHONPATH."""
    archive = sdist()
    top = f"jupyter_enterprise_gateway-{EG_VERSION}/"
    with tarfile.open(archive) as tar:
        members = [
            m
            for m in tar.getmembers()
            if (m.isfile() or m.isdir()) and any(m.name.startswith(top + need) for need in NEEDED)
        ]
        missing = [n for n in NEEDED if not any(m.name.startswith(top + n) for m in members)]
        if missing:
            msg = f"{archive.name} holds none of {missing}: PyPI's sdist changed"
            raise EgItestsError(msg)
        tar.extractall(target, members=members, filter="data")
    return target / top.rstrip("/")


def extract_files(target: Path, *paths: str) -> Path:
    """Unpack the sdist's files under ``paths`` (e.g. ``etc/kernelspecs/spark_R_yarn_cluster``,
    ``etc/kernel-launchers/R``) into ``target``; returns the unpacked top folder."""
    top = f"jupyter_enterprise_gateway-{EG_VERSION}/"
    with tarfile.open(sdist()) as tar:
        members = [
            m for m in tar.getmembers()
            if (m.isfile() or m.isdir()) and any(m.name.startswith(top + p) for p in paths)
        ]
        missing = [p for p in paths if not any(m.name.startswith(top + p) for m in members)]
        if missing:
            msg = f"{sdist().name} holds none of {missing}: PyPI's sdist changed"
            raise EgItestsError(msg)
        tar.extractall(target, members=members, filter="data")
    return target / top.rstrip("/")
