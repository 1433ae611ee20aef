"""``install KIND --kernel-argv '[...]' --language L`` and ``--from-kernelspec NAME``.

Any Jupyter kernel goes through the same launcher: the installed kernelspec keeps the
template's launcher argv and names the kernel's own command in
``process_proxy.config.kernel_argv`` (it reaches the launcher in the launch bundle, never in
argv). ``--from-kernelspec ir`` takes the command, language, display name, interrupt mode,
env and logos of an installed kernelspec (IRkernel's ``ir``, bash_kernel's ``bash``...).
``check NAME`` then verifies that the command exists where the kernel runs.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any, Optional

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

from .templates import CLIError

__all__ = ["KernelCommand", "kernel_command"]

#: Template metadata that holds for ipykernel only: the lab's debugger (a kernel that does
#: not implement the debug protocol shows a broken debugger) and CurveZMQ (a kernel that
#: ignores the Curve keys of its connection file would not answer an encrypted server).
_IPYKERNEL_ONLY = ("debugger", "supported_encryption")


class KernelCommand:
    """The kernel's own command and what goes with it, from the options."""

    def __init__(
        self,
        argv: list[str],
        language: str,
        source: Optional[dict[str, Any]] = None,
        resource_dir: Optional[str] = None,
    ) -> None:
        self.argv = argv
        self.language = language
        self.source = source or {}
        self.resource_dir = resource_dir

    def default_name(self, kind: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.language.lower()).strip("-") or "kernel"
        return f"remote-{slug}-{kind}"

    @property
    def label(self) -> str:
        """The kernel's name in a default display name: its kernelspec's, or the language."""
        return str(self.source.get("display_name") or self.language)

    def apply(self, spec: dict[str, Any], folder: Path) -> None:
        """Put the command into the filled template ``spec`` (written to ``folder``)."""
        metadata = spec.setdefault("metadata", {})
        metadata["process_proxy"].setdefault("config", {})["kernel_argv"] = self.argv
        for key in _IPYKERNEL_ONLY:
            metadata.pop(key, None)
        source_metadata = self.source.get("metadata") or {}
        if source_metadata.get("debugger"):
            metadata["debugger"] = True
        spec["language"] = self.language
        if self.source.get("interrupt_mode"):
            spec["interrupt_mode"] = self.source["interrupt_mode"]
        if self.source.get("env"):
            spec["env"] = {**self.source["env"], **(spec.get("env") or {})}
        if self.resource_dir:  # the kernel's logos and other resources (not its kernel.json)
            for item in Path(self.resource_dir).iterdir():
                if item.is_file() and item.name != "kernel.json":
                    shutil.copy2(item, folder / item.name)


def _parse_argv(text: str) -> list[str]:
    try:
        argv = json.loads(text)
    except ValueError as exc:
        msg = (
            f"--kernel-argv must be a JSON list, e.g. '[\"R\", \"--slave\", \"-e\", "
            f"\"IRkernel::main()\", \"--args\", \"{{connection_file}}\"]'; got {text!r} ({exc})"
        )
        raise CLIError(msg) from None
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        msg = f"--kernel-argv must be a non-empty JSON list of strings, not {text!r}"
        raise CLIError(msg)
    if not any("{connection_file}" in arg for arg in argv):
        msg = (
            "--kernel-argv must name {connection_file} where the kernel takes its connection "
            "file (as the kernel's own kernel.json does)"
        )
        raise CLIError(msg)
    return argv


def kernel_command(argv_text: str, language: str, from_kernelspec: str) -> Optional[KernelCommand]:
    """The options' kernel command, or None (ipykernel, the templates' default)."""
    if argv_text and from_kernelspec:
        msg = "give --kernel-argv or --from-kernelspec, not both"
        raise CLIError(msg)
    if from_kernelspec:
        try:
            spec = KernelSpecManager().get_kernel_spec(from_kernelspec)
        except NoSuchKernel:
            names = ", ".join(sorted(KernelSpecManager().find_kernel_specs()))
            msg = f"--from-kernelspec: no kernelspec {from_kernelspec!r}; installed: {names}"
            raise CLIError(msg) from None
        source = spec.to_dict()
        if (source.get("metadata") or {}).get("process_proxy"):
            msg = f"--from-kernelspec {from_kernelspec}: it is a remote kernelspec already"
            raise CLIError(msg)
        argv = _parse_argv(json.dumps(source["argv"]))
        return KernelCommand(argv, language or spec.language, source, spec.resource_dir)
    if argv_text:
        if not language:
            msg = "--kernel-argv needs --language (the kernel's language, e.g. R)"
            raise CLIError(msg)
        return KernelCommand(_parse_argv(argv_text), language)
    if language:
        msg = "--language goes with --kernel-argv or --from-kernelspec"
        raise CLIError(msg)
    return None
