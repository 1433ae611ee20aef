"""The package's layout holds: the core knows no backend, no module imports a private name.

Read from the source (``ast``), so an import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import jupyter_remote_kernels
from jupyter_remote_kernels.local import LocalLauncherProvisioner
from jupyter_remote_kernels.provisioning import LauncherProvisionerBase
from jupyter_remote_kernels.slurm import SlurmProvisioner
from jupyter_remote_kernels.ssh import SSHProvisioner
from jupyter_remote_kernels.yarn import YarnProvisioner

PACKAGE = Path(jupyter_remote_kernels.__file__).parent
BACKENDS = ("local", "ssh", "yarn", "slurm")
#: A backend that builds on another uses only that one's package (its public surface): the
#: Slurm backend submits over SSH to a login node through the SSH backend's connections.
USES = {"slurm": {"ssh"}}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[0] == "labextension":
            continue
        name = ".".join(("jupyter_remote_kernels", *parts))
        found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, imported names) of every import in module ``name``."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = node.module or ""
            if node.level:
                target = f"{base}.{target}" if target else base
            found.append((target, [alias.name for alias in node.names]))
    return found


def backend_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "jupyter_remote_kernels" and len(parts) > 1 and parts[1] in BACKENDS:
        return parts[1]
    return ""


def test_the_core_imports_no_backend_and_backends_not_each_other():
    wrong = []
    for name, path in modules().items():
        own = backend_of(name)
        for target, _ in imports(name, path):
            other = backend_of(target)
            public = target == f"jupyter_remote_kernels.{other}"
            if other and other != own and not (public and other in USES.get(own, ())):
                wrong.append(f"{name} imports {target}")
    assert modules(), "no modules found"
    assert not wrong, "\n".join(wrong)


def test_no_module_imports_a_private_name_of_another():
    wrong = []
    for name, path in modules().items():
        for target, names in imports(name, path):
            private = [n for n in names if n.startswith("_") and n != "__version__"]
            if target.startswith("jupyter_remote_kernels") and private:
                wrong.append(f"{name} imports {private} from {target}")
    assert not wrong, "\n".join(wrong)


REPO = PACKAGE.parent


def test_no_module_is_over_400_lines():
    folders = [PACKAGE, REPO / "launchers", REPO / "testing", REPO / "tests", REPO / "benchmarks"]
    paths = [p for folder in folders if folder.is_dir() for p in folder.rglob("*.py")]
    long = {
        str(path.relative_to(REPO)): len(path.read_text().splitlines())
        for path in paths
        if "labextension" not in path.parts and len(path.read_text().splitlines()) > 400
    }
    assert paths, "no modules found"
    assert not long, long


def test_the_walk_sees_a_backend_import(tmp_path):
    """The check itself: a core module importing a backend would be found."""
    bad = tmp_path / "bad.py"
    bad.write_text("from .ssh.pool import SSHPool\nfrom .yarn import _hidden\n")
    found = imports("jupyter_remote_kernels.bad", bad)
    assert [backend_of(t) for t, _ in found] == ["ssh", "yarn"]
    assert found[1][1] == ["_hidden"]


def test_backends_override_no_private_method_of_the_base():
    base = {
        name
        for cls in LauncherProvisionerBase.__mro__
        if cls.__module__.startswith("jupyter_remote_kernels")
        for name, value in vars(cls).items()
        if name.startswith("_") and not name.startswith("__") and callable(value)
    }
    for backend in (LocalLauncherProvisioner, SSHProvisioner, YarnProvisioner, SlurmProvisioner):
        overridden = sorted(base & set(vars(backend)))
        assert not overridden, f"{backend.__name__} overrides {overridden}"
    assert LauncherProvisionerBase.__abstractmethods__ >= {"start_launcher", "response_ip"}
