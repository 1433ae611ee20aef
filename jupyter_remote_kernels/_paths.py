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


def launcher_files(language: str = "python") -> list[Path]:
    """Every file the ``language`` launcher needs on the kernel's host, the main file first."""
    main = launcher_path(language)
    return [main, *sorted(p for p in main.parent.glob("*.py") if p != main)]
