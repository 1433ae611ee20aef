"""Every setting of every registered provisioner is a row of the README's configuration table.

The backends come from the ``jupyter_client.kernel_provisioners`` entry points, so a new
backend's settings are checked without editing this test. A row names ``Class.setting`` (the
provisioner's class or a class it inherits the setting from); a row may list more settings of
the same class after the first (``K8sProvisioner.max_cpus``, ``max_memory``, ``max_gpus``).
"""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def documented() -> set[str]:
    """``Class.setting`` for each setting named in the first cell of a table row."""
    names: set[str] = set()
    for line in README.read_text().splitlines():
        if not line.startswith("| `"):
            continue
        cell = line.split("|")[1]
        ticked = re.findall(r"`([^`]+)`", cell)
        owner = ticked[0].split(".", 1)[0] if ticked and "." in ticked[0] else None
        for name in ticked:
            if "." in name:
                names.add(name)
            elif owner:
                names.add(f"{owner}.{name}")
    return names


def provisioners() -> list[type]:
    return [
        ep.load()
        for ep in entry_points(group="jupyter_client.kernel_provisioners")
        if ep.value.startswith("jupyter_remote_kernels.")
    ]


def test_every_provisioner_setting_is_in_the_readme_table():
    rows = documented()
    classes = provisioners()
    assert {c.__name__ for c in classes} >= {"LocalLauncherProvisioner", "SSHProvisioner"}
    missing = []
    for cls in classes:
        for name in sorted(cls.class_traits(config=True)):
            owners = [base.__name__ for base in cls.__mro__]
            if not any(f"{owner}.{name}" in rows for owner in owners):
                missing.append(f"{cls.__name__}.{name}")
    assert missing == [], f"settings with no row in README's configuration table: {missing}"
