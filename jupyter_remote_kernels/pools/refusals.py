"""Warm pools that cannot be made: a kernelspec that asks for a pool but is refused.

A kernelspec whose placement stanza holds a bad value (an install-time ``@@FIELD@@`` left
unfilled, an unknown field) or whose kernel is its own command (``kernel_argv``: a hand-out
sets the working directory through an IPython start-up hook) gets no pool kernels. It is
still listed in ``GET /api/remote-kernels/pools`` (status ``failing``, ``detail`` saying
what is wrong, where, and what to do), so an admin sees it without reading the log.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

__all__ = ["RefusedPool", "argv_refusal", "load_refusal"]


@dataclass(frozen=True)
class RefusedPool:
    """A kernelspec that asks for ``target`` pool kernels and gets none, and why."""

    kernel_name: str
    display_name: str
    target: int
    error: str

    def model(self, user: str) -> dict[str, Any]:
        """The ``/api/remote-kernels/pools`` model of its pool for ``user``."""
        return {
            "kernel_name": self.kernel_name,
            "display_name": self.display_name,
            "user": user,
            "target": self.target,
            "ready": 0,
            "launching": 0,
            "status": "failing",
            "detail": self.error,
        }


def load_refusal(
    kernel_name: str, resource_dir: str, exc: Exception, default_size: int
) -> Optional[RefusedPool]:
    """The refusal of a kernelspec that did not load (``exc``), when it asks for a pool: it
    has a placement stanza (``process_proxy`` or ``kernel_provisioner``) and a pool size
    (its ``pool_size`` or the server's default). None for any other kernelspec. Reads
    ``kernel.json`` (blocks: call it in a thread)."""
    path = Path(resource_dir, "kernel.json")
    try:
        text = path.read_text()
        raw = json.loads(text)
    except (OSError, ValueError):
        return None
    metadata = raw.get("metadata") if isinstance(raw, dict) else None
    metadata = metadata if isinstance(metadata, dict) else {}
    stanza = metadata.get("process_proxy") or metadata.get("kernel_provisioner")
    if not isinstance(stanza, dict):
        return None
    config = stanza.get("config") if isinstance(stanza.get("config"), dict) else {}
    size = config.get("pool_size", default_size)
    if isinstance(size, bool) or not isinstance(size, int):
        # Not a number (e.g. an unfilled "@@POOL_SIZE@@"): it asks for a pool all the same.
        size = default_size if default_size > 0 else 1
    if size <= 0:  # pool_size 0, or none asked and none by default: no pool wanted
        return None
    unfilled = sorted(set(re.findall(r"@@[A-Z0-9_]+@@", text)))
    todo = (
        f"it holds install-time fields left unfilled ({', '.join(unfilled)}): install it "
        "with `jupyter remote-kernels install ...`, which fills them"
        if unfilled
        else "fix the kernelspec"
    )
    error = (
        f"{str(getattr(exc, 'log_message', None) or exc).rstrip('.')}. No pool kernels are "
        f"started from {path}: {todo}; the pool fills once the kernelspec reads without error."
    )
    display_name = raw.get("display_name") if isinstance(raw.get("display_name"), str) else ""
    return RefusedPool(kernel_name, display_name or kernel_name, max(size, 0), error)


def argv_refusal(kernel_name: str, spec: Any, size: int, program: str) -> RefusedPool:
    """The refusal of a kernelspec whose kernel is its own command (``kernel_argv``)."""
    error = (
        f"Kernelspec '{kernel_name}': no warm pool for it: its kernel is its own command "
        f"(kernel_argv {program}), not ipykernel, and a pool kernel takes its user's working "
        "directory and environment through an IPython start-up hook. Its kernels start "
        "fresh; remove pool_size from the kernelspec to drop this pool."
    )
    return RefusedPool(kernel_name, spec.display_name or kernel_name, size, error)
