"""The ``jupyter remote-kernels`` applications: install, list, check (and migrate).

``install KIND`` fills the template of the backend named KIND (see :mod:`.templates`) and
checks the result the way the server will before anything is installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_core.application import JupyterApp
from traitlets import Bool, Dict, Float, List, Unicode

from .._version import __version__
from ..backends import Backend, BackendError, backends, kernel_probe, print_checks
from ..errors import KernelspecError
from ..kernelspecs import translate_kernelspec
from .kernel_command import KernelCommand, kernel_command
from .migrate import MigrateApp
from .templates import CLIError, fill_template

__all__ = ["CheckApp", "InstallApp", "ListApp", "RemoteKernelsCLI", "main"]


class InstallApp(JupyterApp):
    """Install a kernelspec from one of the templates: ``install KIND``."""

    name = "jupyter-remote-kernels-install"
    description = "Install a remote kernelspec: jupyter remote-kernels install local"
    kernel_name = Unicode("", config=True, help="Kernelspec name (default: remote-python-KIND).")
    display_name = Unicode("", config=True, help="Name shown in the launcher.")
    user = Bool(False, config=True, help="Install for the current user only.")
    sys_prefix = Bool(False, config=True, help="Install into sys.prefix (this environment).")
    prefix = Unicode("", config=True, help="Install under this prefix.")
    launch_timeout = Float(0.0, config=True, help="launch_timeout for this kernelspec (s).")
    port_range = Unicode("", config=True, help="LOWER..UPPER port range for the kernel.")
    extra_fields = Dict(
        {}, config=True, help="Further @@FIELD@@ values (placement installers set them)."
    )
    env = List(Unicode(), [], config=True, help="KEY=VALUE pairs for the kernelspec's env.")
    python = Unicode(
        "python3", config=True, help="Python on the kernel's host (name or full path)."
    )
    kernel_argv = Unicode(
        "",
        config=True,
        help="The kernel's own command as a JSON list with {connection_file}, for a kernel "
        "other than ipykernel, e.g. '[\"R\", \"--slave\", \"-e\", \"IRkernel::main()\", "
        "\"--args\", \"{connection_file}\"]' (process_proxy.config.kernel_argv).",
    )
    language = Unicode("", config=True, help="The kernel's language (with --kernel-argv).")
    from_kernelspec = Unicode(
        "",
        config=True,
        help="Take the kernel's command, language, display name, interrupt mode, env and "
        "logos from this installed kernelspec (e.g. ir for IRkernel).",
    )

    #: What the kernel is called in a default display name ("Python 3", "R"...): backends'
    #: install options use it in theirs, e.g. "R (Slurm, debug)".
    kernel_label = "Python 3"

    #: The options every kind has; each backend adds its own (its ``InstallOptions``).
    common_aliases = {
        "python": "InstallApp.python",
        "name": "InstallApp.kernel_name",
        "display-name": "InstallApp.display_name",
        "prefix": "InstallApp.prefix",
        "launch-timeout": "InstallApp.launch_timeout",
        "port-range": "InstallApp.port_range",
        "env": "InstallApp.env",
        "kernel-argv": "InstallApp.kernel_argv",
        "language": "InstallApp.language",
        "from-kernelspec": "InstallApp.from_kernelspec",
    }
    aliases = dict(common_aliases)
    flags = {
        "user": ({"InstallApp": {"user": True}}, "Install for the current user."),
        "sys-prefix": ({"InstallApp": {"sys_prefix": True}}, "Install into sys.prefix."),
    }

    def initialize(self, argv: Any = None) -> None:
        """Take the options of KIND's backend (of every backend when no KIND is named yet),
        so ``install KIND --help`` lists that kind's options."""
        args = list(sys.argv[1:] if argv is None else argv)
        known = backends()
        kind = next((arg for arg in args if arg in known), None)
        chosen = [known[kind]] if kind else list(known.values())
        option_classes = [b.install_options for b in chosen if b.install_options is not None]
        aliases = dict(self.common_aliases)
        for cls in option_classes:
            for option, trait in cls.cli_aliases().items():
                aliases.setdefault(option, f"{cls.__name__}.{trait}")
        self.aliases = aliases
        self.classes = [*self.classes, *option_classes]
        if kind:
            self.description = f"Install a {kind} kernelspec: jupyter remote-kernels install {kind}"
        super().initialize(argv)

    def fields(self, backend: Backend, kernel: Optional[KernelCommand] = None) -> dict[str, Any]:
        """Install-time values for the template; the backend adds its own."""
        self.kernel_label = kernel.label if kernel else "Python 3"
        fields = {
            "DISPLAY_NAME": self.display_name or f"{self.kernel_label} (remote, {backend.name})",
            **self.extra_fields,
        }
        if backend.install_options is not None:
            try:
                fields.update(backend.install_options(parent=self).fields(self))
            except BackendError as exc:
                raise CLIError(str(exc)) from None
        return fields

    def start(self) -> None:
        try:
            self.install(self.extra_args)
        except (CLIError, KernelspecError) as exc:
            print(f"jupyter remote-kernels install: {exc}", file=sys.stderr)
            self.exit(2)

    def install(self, args: list[str]) -> str:
        if len(args) != 1:
            msg = "say which kind to install, e.g. `jupyter remote-kernels install local`"
            raise CLIError(msg)
        kind = args[0]
        known = backends()
        if kind not in known:
            msg = f"unknown kernel kind {kind!r}; choose one of: {', '.join(sorted(known))}"
            raise CLIError(msg)
        backend = known[kind]
        kernel = kernel_command(self.kernel_argv, self.language, self.from_kernelspec)
        default = kernel.default_name(kind) if kernel else backend.default_kernel_name
        name = self.kernel_name or default or f"remote-python-{kind}"
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / name
            spec = fill_template(backend.template, self.fields(backend, kernel), folder)
            if kernel is not None:
                kernel.apply(spec, folder)
            if self.display_name:
                spec["display_name"] = self.display_name
            config = spec["metadata"]["process_proxy"].setdefault("config", {})
            if self.launch_timeout:
                config["launch_timeout"] = self.launch_timeout
            if self.port_range:
                config["port_range"] = self.port_range
            for pair in self.env:
                key, sep, value = pair.partition("=")
                if not sep or not key:
                    msg = f"--env takes KEY=VALUE, not {pair!r}"
                    raise CLIError(msg)
                spec.setdefault("env", {})[key] = value
            (folder / "kernel.json").write_text(json.dumps(spec, indent=2) + "\n")
            # Check it the way the server will before anything is installed.
            translate_kernelspec(name, KernelSpec.from_resource_dir(str(folder)))
            destination = KernelSpecManager().install_kernel_spec(
                str(folder),
                kernel_name=name,
                user=self.user,
                prefix=sys.prefix if self.sys_prefix else (self.prefix or None),
            )
        print(f"Installed kernelspec {name} in {destination}")
        return destination


class ListApp(JupyterApp):
    """List installed kernelspecs and where each one places its kernels."""

    name = "jupyter-remote-kernels-list"
    description = "List kernelspecs with their placement"
    json_output = Bool(False, config=True, help="Print JSON.")
    flags = {"json": ({"ListApp": {"json_output": True}}, "Print JSON.")}

    def start(self) -> None:
        manager = KernelSpecManager()
        rows = []
        for name, folder in sorted(manager.find_kernel_specs().items()):
            try:
                spec = manager.get_kernel_spec(name)
                translated = translate_kernelspec(name, spec)
                stanza = translated.metadata.get("kernel_provisioner") or {}
                provisioner = stanza.get("provisioner_name", "local-provisioner")
                problem = ""
            except Exception as exc:  # a broken spec is listed with its problem
                provisioner, problem = "-", str(exc)
            rows.append(
                {"name": name, "provisioner": provisioner, "path": folder, "problem": problem}
            )
        if self.json_output:
            print(json.dumps(rows, indent=2))
            return
        width = max([len(r["name"]) for r in rows] + [4])
        for row in rows:
            note = f"  !! {row['problem']}" if row["problem"] else ""
            print(f"  {row['name']:<{width}}  {row['provisioner']:<24}  {row['path']}{note}")


class CheckApp(JupyterApp):
    """Check that a kernelspec's placement works: ``check NAME`` (its backend's checks)."""

    name = "jupyter-remote-kernels-check"
    description = "Check that a kernelspec's hosts or cluster can run kernels"

    def start(self) -> None:
        if len(self.extra_args) != 1:
            print("say which kernelspec: jupyter remote-kernels check NAME", file=sys.stderr)
            self.exit(2)
        name = self.extra_args[0]
        try:
            spec = translate_kernelspec(name, KernelSpecManager().get_kernel_spec(name))
        except Exception as exc:
            print(f"jupyter remote-kernels check: {exc}", file=sys.stderr)
            self.exit(2)
        stanza = spec.metadata.get("kernel_provisioner") or {}
        provisioner = stanza.get("provisioner_name")
        backend = next((b for b in backends().values() if b.provisioner_name == provisioner), None)
        config = stanza.get("config", {})
        if backend is not None and backend.name == "local" and config.get("kernel_argv"):
            self.exit(check_local_kernel(name, config["kernel_argv"], list(spec.argv)))
        if backend is None or backend.check is None:
            print(f"{name}: placed by {provisioner or 'jupyter_client'}; nothing to check")
            return
        self.exit(backend.check(name, config, list(spec.argv)))


def check_local_kernel(name: str, kernel_argv: list[str], argv: list[str]) -> int:
    """``check NAME`` of a local kernelspec with a kernel of its own command: is it here?"""
    probe, what = kernel_probe(kernel_argv, argv[0] if argv else sys.executable)
    done = subprocess.run(["sh", "-c", probe], capture_output=True, text=True, check=False)
    fix = "found" if done.returncode == 0 else "not found: install it or fix kernel_argv"
    print(f"{name} (this machine):")
    return 1 if print_checks([("kernel", done.returncode == 0, f"{what} {fix}")]) else 0


class RemoteKernelsCLI(JupyterApp):
    """jupyter remote-kernels: manage kernelspecs that run kernels elsewhere."""

    name = "jupyter-remote-kernels"
    version = __version__
    description = "Install, list and check jupyter_remote_kernels kernelspecs"
    subcommands = {
        "install": (InstallApp, InstallApp.description),
        "check": (CheckApp, CheckApp.description),
        "list": (ListApp, ListApp.description),
        "migrate": (MigrateApp, MigrateApp.description),
    }

    def start(self) -> None:
        if self.subapp is None:
            print("Subcommands: " + ", ".join(sorted(self.subcommands)), file=sys.stderr)
            self.print_subcommands()
            self.exit(2)
        self.subapp.start()


def main() -> None:
    RemoteKernelsCLI.launch_instance()
