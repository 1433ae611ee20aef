"""Where the launchers and kernelspec templates are: inside the wheel or in a source checkout."""

from __future__ import annotations

from pathlib import Path

__all__ = ["KERNELSPECS_DIR", "LAUNCHERS_DIR", "launcher_files", "launcher_path"]

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    # A wheel carries the top-level folder as jupyter_remote_kernels/_<name>; an editable
    # install or a checkout has it beside the package.
    for candidate in (_PACKAGE / f"_{name}", _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    msg = f"jupyter_remote_kernels is installed without its {name}/ folder; reinstall it"
    raise FileNotFoundError(msg)


LAUNCHERS_DIR = _data_dir("launchers")
KERNELSPECS_DIR = _data_dir("kernelspecs")


def launcher_path(language: str = "python", name: str = "launch_ipykernel.py") -> Path:
    """The file ``name`` of the ``language`` launchers (``ssh``: the SSH bootstrap and agent)."""
    return LAUNCHERS_DIR / language / name


#: The files of each language's launcher, the entry point first: every delivery (a path on
#: disk, the SSH channel, spark-submit's primary file and ``--files``, a batch script)
#: carries all of them, the others beside the entry point (importable as top-level modules).
_LAUNCHER_FILES = {
    "python": (
        "launch_ipykernel.py",
        "jrk_launcher_comm.py",
        "jrk_launcher_kernel.py",
        "jrk_launcher_prepare.py",
        "jrk_launcher_spark.py",
    )
}


def launcher_files(language: str = "python") -> list[Path]:
    """The files of the ``language`` launcher, its entry point first.

    Called by every backend that delivers the launcher: the local and YARN ones run the
    first from disk (YARN ships the others with ``--files``), the SSH one sends them all.
    """
    try:
        names = _LAUNCHER_FILES[language]
    except KeyError:
        msg = f"no launcher for language {language!r}; known: {', '.join(_LAUNCHER_FILES)}"
        raise ValueError(msg) from None
    return [launcher_path(language, name) for name in names]
