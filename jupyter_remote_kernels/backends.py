"""The placement backends, found through entry points.

Each backend package (``local``, ``ssh``, ``yarn``, ``slurm``, and any other installed)
offers one :class:`Backend` under the entry point group ``jupyter_remote_kernels.backends``
and its provisioner under ``jupyter_client.kernel_provisioners``. The core, the kernelspec
translation and the CLI find backends only this way: adding a backend touches no core
module.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, Optional, Union

from traitlets.config import Configurable

from .errors import RemoteKernelError

__all__ = [
    "ENTRY_POINT_GROUP",
    "Backend",
    "BackendError",
    "InstallOptions",
    "backends",
    "kernel_probe",
    "print_checks",
]

ENTRY_POINT_GROUP = "jupyter_remote_kernels.backends"


class BackendError(RemoteKernelError):
    """A bad or missing install value, said so the CLI can print it (exit status 2)."""


class InstallOptions(Configurable):
    """A backend's own ``jupyter remote-kernels install KIND`` options.

    Subclass it in the backend's ``install.py``: one trait (``config=True, help=...``) per
    option, named as the option (trait ``login_host``: ``--login-host``), and :meth:`fields`
    for the template's ``@@FIELD@@`` values. ``InstallApp`` assembles the installed
    backends' options.
    """

    @classmethod
    def cli_aliases(cls) -> dict[str, str]:
        """Command-line option -> trait name: each of the class's own options."""
        return {name.replace("_", "-"): name for name in cls.class_own_traits(config=True)}

    def fields(self, app: Any) -> dict[str, Any]:
        """The template's ``@@FIELD@@`` values; ``app`` is the ``InstallApp`` (its common
        options: ``display_name``, ``python``...). Raises :class:`BackendError` for a bad or
        missing value."""
        return {}


@dataclass(frozen=True)
class Backend:
    """What the core and ``jupyter remote-kernels`` need of one placement backend."""

    #: The kind users name: ``install KIND``, ``process_proxy.class_name``, placement kind.
    name: str
    #: The provisioner entry point (``jupyter_client.kernel_provisioners``) it places with;
    #: empty: ``jrk-NAME-provisioner``.
    provisioner_name: str = ""
    #: The kernelspec template ``install KIND`` fills: a folder of the package's
    #: ``kernelspecs/`` by name, or any folder (a backend's own); empty: the folder NAME.
    template: Union[str, Path] = ""
    #: Its ``install KIND`` options (an :class:`InstallOptions` subclass), if any.
    install_options: Optional[type[InstallOptions]] = None
    #: ``check NAME``: prints its checks of kernelspec NAME's provisioner config and returns
    #: the exit status (0: all fine).
    check: Optional[Callable[[str, dict[str, Any], list[str]], int]] = None
    #: Enterprise Gateway process-proxy class names that mean this backend.
    eg_class_names: tuple[str, ...] = ()
    #: gateway_provisioners' provisioner names that mean this backend (their config keys
    #: are translated as EG's are).
    gp_provisioner_names: tuple[str, ...] = ()
    #: EG's and GP's spellings of this backend's ``config`` keys as its own (renamed keys,
    #: comma-separated lists); the core translates the keys every backend shares.
    eg_config: Optional[Callable[[dict[str, Any]], dict[str, Any]]] = None
    #: EG's kernelspec ``env`` as this backend's template needs it (``migrate`` of a spec
    #: that gets the template's argv and files: options its script sets itself removed).
    eg_env: Optional[Callable[[dict[str, str]], dict[str, str]]] = None
    #: EG's and GP's argv of this backend's kernelspecs as this package's, given the argv and
    #: the (translated) config: what ``migrate`` writes (EG's Kubernetes specs run a script
    #: of the gateway's host, not a launcher). None: only the shared rewrite of EG's
    #: ``launch_ipykernel.py``.
    eg_argv: Optional[Callable[[list[str], dict[str, Any]], list[str]]] = None
    #: The provisioner for a kernelspec of this kind whose argv starts no launcher (EG's
    #: plain local specs run under jupyter_client's ``local-provisioner``); None: refused
    #: like any other kernelspec.
    no_launcher_provisioner: Optional[str] = None
    #: The kernelspec name ``install KIND`` uses unless ``--name`` is given
    #: (None: ``remote-python-KIND``).
    default_kernel_name: Optional[str] = None

    def __post_init__(self) -> None:
        if not self.provisioner_name:
            object.__setattr__(self, "provisioner_name", f"jrk-{self.name}-provisioner")
        if not self.template:
            object.__setattr__(self, "template", self.name)


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


_PYTHONS = ("python", "python3")


def kernel_probe(kernel_argv: list[str], python: str) -> tuple[str, str]:
    """``check NAME`` for a kernel of its own command (``process_proxy.config.kernel_argv``):
    a shell command that exits 0 where the kernel's command exists, and what it checks.

    ``python -m MODULE ...`` (``python`` being the launcher's Python, as the launcher runs it)
    is checked by importing MODULE; any other command by ``command -v``.
    """
    head = kernel_argv[0]
    if head in _PYTHONS and len(kernel_argv) > 2 and kernel_argv[1] == "-m":
        module = kernel_argv[2]
        code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
        return f"exec {shlex.quote(python)} -c {shlex.quote(code)}", f"{python} -m {module}"
    return f"command -v {shlex.quote(head)}", head
