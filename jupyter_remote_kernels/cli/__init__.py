"""``jupyter remote-kernels``: install, list, check and migrate kernelspecs.

    jupyter remote-kernels install KIND [--name NAME] [--display-name TEXT] ...
    jupyter remote-kernels list [--json]
    jupyter remote-kernels check NAME
    jupyter remote-kernels migrate [--dry-run] ...

The kinds, and what ``install`` and ``check`` do for each, come from the backends
(:mod:`jupyter_remote_kernels.backends`).
"""

from .app import CheckApp, InstallApp, ListApp, RemoteKernelsCLI, main
from .migrate import MigrateApp, migrate_spec
from .templates import CLIError, fill_template

__all__ = [
    "CLIError",
    "CheckApp",
    "InstallApp",
    "ListApp",
    "MigrateApp",
    "RemoteKernelsCLI",
    "fill_template",
    "main",
    "migrate_spec",
]
