"""The placement backends the CLI knows, found through entry points.

Each backend package (``local``, ``ssh``, ``yarn``, and any other installed) offers one
:class:`Backend` under the entry point group ``jupyter_remote_kernels.backends``. The
core and the CLI find backends only this way: adding a backend touches no core module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable, Optional

__all__ = ["ENTRY_POINT_GROUP", "Backend", "BackendError", "backends", "print_checks"]

ENTRY_POINT_GROUP = "jupyter_remote_kernels.backends"


class BackendError(Exception):
    """A bad or missing install value, said so the CLI can print it (exit status 2)."""


@dataclass(frozen=True)
class Backend:
    """What ``jupyter remote-kernels`` needs of one placement backend."""

    #: The kind users name: ``install KIND``.
    name: str
    #: The provisioner entry point (``jupyter_client.kernel_provisioners``) it places with.
    provisioner_name: str
    #: The kernelspec template (a folder of ``kernelspecs/``) ``install KIND`` fills.
    template: str
    #: The template's ``@@FIELD@@`` values from the install command (an ``InstallApp``);
    #: raises :class:`BackendError` for a bad or missing value.
    install_fields: Optional[Callable[[Any], dict[str, Any]]] = None
    #: ``check NAME``: prints its checks of kernelspec NAME's provisioner config and returns
    #: the exit status (0: all fine).
    check: Optional[Callable[[str, dict[str, Any], list[str]], int]] = None


def backends() -> dict[str, Backend]:
    """The installed backends by name."""
    found: dict[str, Backend] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        backend = point.load()
        if isinstance(backend, Backend):
            found[backend.name] = backend
    return found


def print_checks(results: Iterable[tuple[str, bool, str]]) -> bool:
    """Print ``check NAME`` results, one ``ok``/``FAIL`` line each; True if one failed."""
    failed = False
    for check, ok, detail in results:
        failed = failed or not ok
        print(f"  {'ok  ' if ok else 'FAIL'} {check:<10} {detail}")
    return failed
