"""Kernelspec templates: ``kernelspecs/<kind>/`` with ``@@FIELD@@`` install-time fields.

Launch-time fields are ``{name}`` (filled by the provisioner for every launch); the two
syntaxes never meet. A template is never installed half-filled: a field left unfilled is
an error naming every such field.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any, Union

from ..paths import KERNELSPECS_DIR

__all__ = ["CLIError", "fill_template"]


_FIELD = re.compile(r"@@([A-Z0-9_]+)@@")


class CLIError(Exception):
    """A usage or input error: printed without a traceback, exit status 2."""


def _fill_value(value: Any, fields: dict[str, Any], missing: set[str]) -> Any:
    if isinstance(value, str):
        whole = _FIELD.fullmatch(value)
        if whole:
            if whole.group(1) not in fields:
                missing.add(whole.group(1))
                return value
            return fields[whole.group(1)]

        def replace(match: re.Match) -> str:
            if match.group(1) not in fields:
                missing.add(match.group(1))
                return match.group(0)
            return str(fields[match.group(1)])

        return _FIELD.sub(replace, value)
    if isinstance(value, list):
        return [_fill_value(item, fields, missing) for item in value]
    if isinstance(value, dict):
        return {key: _fill_value(item, fields, missing) for key, item in value.items()}
    return value


def fill_template(
    kind: Union[str, Path], fields: dict[str, Any], destination: Path
) -> dict[str, Any]:
    """Copy template ``kind`` into ``destination`` with its ``@@FIELD@@`` values filled.

    ``kind`` names a shipped template (``local``, ``ssh``, ``yarn_spark``) or is the folder
    of another one. A field whose whole string is ``@@FIELD@@`` takes the value as is (a
    list stays a list). Raises :class:`CLIError` naming every field left unfilled; nothing
    is written then.
    """
    template = kind if isinstance(kind, Path) else KERNELSPECS_DIR / kind
    if not (template / "kernel.json").is_file():
        kinds = sorted(p.name for p in KERNELSPECS_DIR.iterdir() if (p / "kernel.json").is_file())
        msg = f"unknown kernel kind {kind!r}; choose one of: {', '.join(kinds)}"
        raise CLIError(msg)
    missing: set[str] = set()
    spec = _fill_value(json.loads((template / "kernel.json").read_text()), fields, missing)
    others = {}
    for path in template.rglob("*"):
        if path.is_file() and path.name != "kernel.json":
            text = path.read_text()
            others[path.relative_to(template)] = (_fill_value(text, fields, missing), path)
    if missing:
        msg = f"the {kind} template needs values for: {', '.join(sorted(missing))}"
        raise CLIError(msg)
    destination.mkdir(parents=True, exist_ok=True)
    (destination / "kernel.json").write_text(json.dumps(spec, indent=2) + "\n")
    for relative, (text, source) in others.items():
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        shutil.copymode(source, target)
    return spec
