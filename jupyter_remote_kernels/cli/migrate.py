"""``jupyter remote-kernels migrate``: rewrite EG and GP kernelspecs to this package.

The launcher of Enterprise Gateway (EG) and gateway_provisioners (GP)
(``.../scripts/launch_ipykernel.py``) calls back without authentication and takes
unauthenticated commands; this package's launcher does both with a per-kernel key.
Migration points argv at ``{launcher}``, drops ``--public-key`` (either spelling) and GP's
``--transport-encryption``, turns EG class names into short ones, GP's provisioner names
(``distributed-provisioner``, ``yarn-provisioner``) into this package's, renamed config
keys into ours and EG's comma-separated ``remote_hosts`` into a list. The original file is
kept beside it as ``kernel.json.eg-backup``; ``--dry-run`` prints the diff instead. A spec
whose launcher is started from a script (YARN ``run.sh``) is reported for a manual edit,
not guessed at, except EG's R specs (``launch_IRkernel.R`` in argv or run.sh), which become
the generic form, IRkernel through this package's launcher (:mod:`.migrate_r`).
"""

from __future__ import annotations

import difflib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_core.application import JupyterApp
from traitlets import Bool

from ..backends import backends
from ..errors import KernelspecError
from ..kernelspecs import (
    eg_class_names,
    eg_config,
    gp_provisioner_names,
    provisioner_names,
    translate_kernelspec,
)
from .migrate_r import eg_r_launch, migrate_r_spec

__all__ = ["MigrateApp", "migrate_spec"]

_DROPPED_OPTIONS = (
    "--RemoteProcessProxy.public-key",
    "--public-key",
    "--transport-encryption",  # GP's; ours takes CurveZMQ keys from the server's bundle
)


def _is_eg_launcher(arg: str) -> bool:
    return arg.endswith("launch_ipykernel.py") and "jupyter_remote_kernels" not in arg


def is_legacy_spec(spec: dict[str, Any]) -> bool:
    """True for a kernelspec of Enterprise Gateway or gateway_provisioners."""
    metadata = spec.get("metadata") or {}
    proxy = metadata.get("process_proxy") or {}
    native = metadata.get("kernel_provisioner") or {}
    return (
        proxy.get("class_name") in eg_class_names()
        or native.get("provisioner_name") in gp_provisioner_names()
        or any(map(_is_eg_launcher, spec.get("argv") or []))
    )


def spec_diff(name: str, old: dict[str, Any], new: dict[str, Any]) -> str:
    """A unified diff of the two kernel.json texts."""
    return "".join(
        difflib.unified_diff(
            (json.dumps(old, indent=2) + "\n").splitlines(keepends=True),
            (json.dumps(new, indent=2) + "\n").splitlines(keepends=True),
            f"{name}/kernel.json",
            f"{name}/kernel.json (migrated)",
        )
    )


def _backend_config(backend: Any, config: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """An EG ``process_proxy.config`` in the backend's own spelling."""
    if backend.eg_config is None:
        return config
    result = backend.eg_config(config)
    changes.extend(f"config.{key} -> {new}" for key, new in zip(config, result) if key != new)
    return result


def _backend_argv(backend: Any, argv: list[str], config: Any, changes: list[str]) -> list[str]:
    """An EG / GP argv as the backend writes it (its ``eg_argv``)."""
    rewritten = backend.eg_argv(argv, config if isinstance(config, dict) else {})
    if rewritten != argv:
        changes.append(f"argv -> {' '.join(rewritten[:2])} ...")
    return rewritten


def migrate_spec(spec: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The migrated kernel.json and what changed; raises KernelspecError if it cannot be."""
    new = json.loads(json.dumps(spec))
    changes = []
    metadata = new.setdefault("metadata", {})
    proxy = metadata.get("process_proxy")
    known = backends()
    eg_names, gp_names = eg_class_names(known), gp_provisioner_names(known)
    kind, config = None, None
    if isinstance(proxy, dict) and proxy.get("class_name") in eg_names:
        kind = proxy["class_name"] = eg_names[proxy["class_name"]]
        changes.append(f"class_name -> {proxy['class_name']}")
    config = proxy.get("config") if isinstance(proxy, dict) else None
    if isinstance(config, dict) and isinstance(config.get("remote_hosts"), str):
        config["remote_hosts"] = [h.strip() for h in config["remote_hosts"].split(",") if h.strip()]
        changes.append("remote_hosts -> list")
    if kind is not None and isinstance(config, dict):
        config = proxy["config"] = _backend_config(known[kind], config, changes)
    native = metadata.get("kernel_provisioner")
    if isinstance(native, dict) and native.get("provisioner_name") in gp_names:
        old_name = native["provisioner_name"]
        kind = gp_names[old_name]
        native["provisioner_name"] = provisioner_names(known)[kind]
        changes.append(f"provisioner_name {old_name} -> {native['provisioner_name']}")
        old_config = native.get("config") or {}
        config = native["config"] = eg_config(old_config, kind, known)
        changes.extend(
            f"config.{key} -> {new}" for key, new in zip(old_config, native["config"]) if key != new
        )
    argv = list(new.get("argv") or [])
    if kind is not None and known[kind].eg_argv is not None:
        argv = _backend_argv(known[kind], argv, config, changes)
    if any(arg.endswith(".sh") for arg in argv) and not any(map(_is_eg_launcher, argv)):
        msg = (
            f"argv starts a script ({next(a for a in argv if a.endswith('.sh'))}) that runs the "
            "launcher: point that script at this package's launcher by hand"
        )
        raise KernelspecError(msg)
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in _DROPPED_OPTIONS:
            skip = True
            changes.append(f"dropped {arg}")
            continue
        if _is_eg_launcher(arg):
            out.append("{launcher}")
            changes.append(f"launcher {arg} -> {{launcher}}")
            continue
        out.append(arg)
    new["argv"] = out
    return new, changes


class MigrateApp(JupyterApp):
    """Rewrite EG / GP kernelspecs: ``migrate [NAME ...]`` (all such specs if none)."""

    name = "jupyter-remote-kernels-migrate"
    description = (
        "Rewrite Enterprise Gateway and gateway_provisioners kernelspecs to use this "
        "package's launcher and provisioners"
    )
    dry_run = Bool(False, config=True, help="Show the diff of each change; write nothing.")
    flags = {"dry-run": ({"MigrateApp": {"dry_run": True}}, "Show the diffs, write nothing.")}

    def start(self) -> None:
        specs = KernelSpecManager().find_kernel_specs()
        names = self.extra_args or sorted(specs)
        failed = False
        for name in names:
            if name not in specs:
                print(f"{name}: no such kernelspec", file=sys.stderr)
                failed = True
                continue
            path = Path(specs[name]) / "kernel.json"
            spec = json.loads(path.read_text())
            if not is_legacy_spec(spec):
                if self.extra_args:
                    print(
                        f"{name}: not an Enterprise Gateway or gateway_provisioners "
                        "kernelspec, left as is"
                    )
                continue
            files: dict = {}
            try:
                how = eg_r_launch(spec, path.parent)
                if how is not None:  # EG's R launcher: to IRkernel through ours
                    r_migration = migrate_r_spec(spec, how)
                    new, changes, files = r_migration.spec, r_migration.changes, r_migration.files
                else:
                    new, changes = migrate_spec(spec)
                check = KernelSpec(
                    **{k: v for k, v in new.items() if k != "resource_dir"},
                    resource_dir=str(path.parent),
                )
                translate_kernelspec(name, check)
            except KernelspecError as exc:
                print(f"{name}: not migrated: {exc}", file=sys.stderr)
                failed = True
                continue
            if self.dry_run:
                print(f"{name}: would change: {'; '.join(changes) or 'nothing'}")
                print(spec_diff(name, spec, new), end="")
                continue
            if changes:
                shutil.copy2(path, path.with_name("kernel.json.eg-backup"))
                path.write_text(json.dumps(new, indent=2) + "\n")
            for relative, (content, mode) in files.items():  # a template's run.sh
                target = path.parent / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():
                    shutil.copy2(target, target.with_name(target.name + ".eg-backup"))
                target.write_bytes(content)
                target.chmod(mode)
            print(f"{name}: {'; '.join(changes) or 'already migrated'}")
        if failed:
            self.exit(1)
