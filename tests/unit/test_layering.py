"""The package's layout holds: the core knows no backend, no module imports a private name,
no module keeps state of its own.

The backends are the ones registered under the entry point group (the package's own and any
other installed: a fifth backend is checked without editing this test; the toy backend of
``testing/toybackend`` is registered here to show it). Read from the source (``ast``), so an
import inside a function counts too.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import jupyter_remote_kernels
from jupyter_remote_kernels.backends import ENTRY_POINT_GROUP, backends
from jupyter_remote_kernels.provisioning import LauncherProvisionerBase
from testing.toybackend import install_entry_points

PACKAGE = Path(jupyter_remote_kernels.__file__).parent
REPO = PACKAGE.parent
#: A backend that builds on another uses only that one's package (its public surface): the
#: Slurm backend submits over SSH to a login node through the SSH backend's connections.
#: docs/architecture.md draws each of these edges.
USES = {"slurm": {"ssh"}}


@pytest.fixture(scope="module", autouse=True)
def toy_registered(tmp_path_factory):
    """The toy backend registered through the entry point groups, as an installed one is."""
    folder = str(install_entry_points(tmp_path_factory.mktemp("site")))
    sys.path.insert(0, folder)
    importlib.invalidate_caches()
    yield
    sys.path.remove(folder)


def backend_packages() -> dict[str, str]:
    """Backend name -> the package that holds it (from its entry point)."""
    found = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        module = point.value.partition(":")[0]
        if module.startswith("jupyter_remote_kernels."):
            module = ".".join(module.split(".")[:2])
        found[point.name] = module
    return found


def test_the_backends_come_from_the_entry_points():
    packages = backend_packages()
    assert {"local", "ssh", "yarn", "slurm", "toy"} <= set(packages), packages
    assert packages["toy"] == "testing.toybackend"
    assert set(backends()) == set(packages)


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
    for name, package in backend_packages().items():
        if module == package or module.startswith(package + "."):
            return name
    return ""


def backend_modules() -> dict[str, Path]:
    """The modules of the backends outside the package (the toy's, any plugin's)."""
    found = {}
    for package in backend_packages().values():
        if package.startswith("jupyter_remote_kernels."):
            continue
        root = Path(importlib.import_module(package).__file__).parent
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join((package, *parts)).removesuffix(".__init__")] = path
    return found


def core_modules() -> dict[str, Path]:
    return {name: path for name, path in modules().items() if not backend_of(name)}


def test_the_core_imports_no_backend_and_backends_not_each_other():
    wrong = []
    for name, path in {**modules(), **backend_modules()}.items():
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
    bad.write_text(
        "from .ssh.pool import SSHPool\nfrom .yarn import _hidden\nimport testing.toybackend\n"
    )
    found = imports("jupyter_remote_kernels.bad", bad)
    assert [backend_of(t) for t, _ in found] == ["ssh", "yarn", "toy"]
    assert found[1][1] == ["_hidden"]


def test_every_backend_dependency_is_drawn_in_the_architecture_document():
    text = (REPO / "docs" / "architecture.md").read_text()
    for backend, used in USES.items():
        for other in used:
            assert f"`{backend}` → `{other}`" in text, f"{backend} -> {other} is not drawn"


def _strings(tree: ast.AST) -> list[ast.Constant]:
    """The string constants of a module that are not docstrings."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and id(node) not in docstrings
    ]  # fmt: skip


def backend_names_in(path: Path, names: list[str]) -> list[str]:
    """``path:line: 'string'`` for each string constant naming one of the backends."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b", re.IGNORECASE)
    return [
        f"{path.name}:{node.lineno}: {node.value!r}"
        for node in _strings(ast.parse(path.read_text()))
        if pattern.search(node.value)
    ]


def test_no_core_module_names_a_backend_in_a_string():
    """Messages, keys and branches of the core say nothing of any one backend."""
    names = [n for n in backend_packages() if n != "local"]  # "local" is also a plain word
    wrong = [hit for path in core_modules().values() for hit in backend_names_in(path, names)]
    assert core_modules(), "no core modules found"
    assert not wrong, "\n".join(wrong)


def test_the_backend_name_check_sees_a_name(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('"""A yarn docstring is fine."""\nKIND = "slurm"\nmsg = f"on YARN {x}"\n')
    assert [h.split(": ", 1)[1] for h in backend_names_in(bad, ["yarn", "slurm"])] == [
        "'slurm'",
        "'on YARN '",
    ]


_MUTABLE_CALLS = {"dict", "list", "set", "defaultdict", "deque", "OrderedDict", "Counter",
                  "WeakValueDictionary", "WeakKeyDictionary", "WeakSet"}  # fmt: skip


def module_state(path: Path) -> list[str]:
    """Module-level mutable state and singletons: ``global`` statements, lower-case module
    names bound to mutable containers, ``.instance()`` calls."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found.append(f"{path.name}:{node.lineno}: global {', '.join(node.names)}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "instance"
        ):
            found.append(f"{path.name}:{node.lineno}: .instance() singleton")
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign)
            else [node.target] if isinstance(node, ast.AnnAssign) and node.value else []
        )  # fmt: skip
        value = getattr(node, "value", None)
        mutable = isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp)) or (
            isinstance(value, ast.Call)
            and getattr(value.func, "id", getattr(value.func, "attr", "")) in _MUTABLE_CALLS
        )
        for target in targets:
            name = getattr(target, "id", "")
            if mutable and name and not name.isupper() and name != "__all__":
                found.append(f"{path.name}:{node.lineno}: module-level mutable {name}")
    return found


def test_no_module_keeps_module_level_state_or_singletons():
    """State lives in objects the server owns (its Services), never in modules."""
    paths = {**modules(), **backend_modules()}
    wrong = [hit for path in paths.values() for hit in module_state(path)]
    assert not wrong, "\n".join(wrong)


def test_the_state_check_sees_state(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "CONSTANT = {'a': 1}\n_cache = {}\nseen = set()\n"
        "def f():\n    global seen\n    return Thing.instance()\n"
    )
    assert [h.split(": ", 1)[1] for h in module_state(bad)] == [
        "global seen",
        ".instance() singleton",
        "module-level mutable _cache",
        "module-level mutable seen",
    ]


def test_backends_override_no_private_method_of_the_base():
    base = {
        name
        for cls in LauncherProvisionerBase.__mro__
        if cls.__module__.startswith("jupyter_remote_kernels")
        for name, value in vars(cls).items()
        if name.startswith("_") and not name.startswith("__") and callable(value)
    }
    provisioners = [
        point.load()
        for point in entry_points(group="jupyter_client.kernel_provisioners")
        if backend_of(point.value.partition(":")[0])
    ]
    assert len(provisioners) >= 5, provisioners
    for backend in provisioners:
        overridden = sorted(base & set(vars(backend)))
        assert not overridden, f"{backend.__name__} overrides {overridden}"
    assert LauncherProvisionerBase.__abstractmethods__ >= {"start_launcher", "response_ip"}
