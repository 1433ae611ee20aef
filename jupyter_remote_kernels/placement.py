"""Where a kernel runs and how far its launch has come, as the REST API shows it.

A :class:`Placement` holds what every kernel has (its kind, host, address, launch phase)
and two things its backend owns: ``details``, the backend's own facts (a YARN application's
id, queue and tracking URL; a Slurm job's id, partition and time left), and ``where``, a
human string the backend computes (its provisioner's ``location()``), e.g.
``slurm · job 4242 on rkn2 (1:52 left)``. The core and the lab extension show both as they
come, without knowing any backend.

``python -m jupyter_remote_kernels.placement --schema`` prints the JSON schema of
:meth:`Placement.to_dict`; ``labextension/src/placement.schema.json`` is its copy (a test
keeps them equal).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Optional, Union

__all__ = ["PHASES", "DetailValue", "Placement", "schema"]

#: Launch phases, in the order a launch goes through them (not every placement uses all).
PHASES: dict[str, str] = {
    "starting": "the server prepares the launch",
    "submitting": "the backend hands the launch to its scheduler or host",
    "pending": "a scheduler holds the launch; its reason is in `detail`",
    "waiting-for-launcher": "the launcher runs (or its job or container starts); the server "
    "waits for its callback",
    "ready": "the kernel runs and the server is connected to it",
    "pooled": "a warm pool kernel, ready and waiting to be handed out",
    "failed": "the launch failed; why is in `error`",
    "shutting-down": "the kernel is being stopped",
    "dead": "the kernel is gone; why, when it died on its own, is in `error`",
}

#: What a ``details`` value may be.
DetailValue = Union[str, int, float, None]

_DETAIL_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


@dataclass
class Placement:
    """The placement of one kernel; provisioners update it as the launch goes on."""

    #: The provisioner's entry point name (``kernel_provisioner.provisioner_name``).
    provisioner: str
    #: The backend's kind: ``local``, ``ssh``, ``yarn``, ``slurm``... (or ``plain``).
    kind: str
    #: The host the kernel was placed on (a remote_hosts entry, a node), once known.
    host: Optional[str] = None
    #: The address the server connects to the kernel on, once ready.
    ip: Optional[str] = None
    #: The launcher's process id on its host, once ready.
    pid: Optional[int] = None
    #: The backend's own state string (a YARN application's, a Slurm job's), if it has one.
    state: Optional[str] = None
    #: One of :data:`PHASES`.
    phase: str = "starting"
    #: When the phase last changed (ISO 8601, UTC).
    phase_since: str = field(default_factory=_now)
    #: What the phase is waiting for (a scheduler's reason, a node), or empty.
    detail: str = ""
    #: Why the launch failed or the kernel died, else None.
    error: Optional[str] = None
    #: The backend's own facts, snake_case keys in display order.
    details: dict[str, DetailValue] = field(default_factory=dict)
    #: Computes ``where`` (the provisioner's ``location()``); None: the kind and the host.
    locator: Optional[Callable[[], str]] = field(default=None, repr=False, compare=False)

    def set_phase(self, phase: str, detail: str = "", error: Optional[str] = None) -> None:
        """Move to ``phase``; the time is recorded only when the phase changes."""
        if phase not in PHASES:
            msg = f"unknown launch phase {phase!r}; the phases are {', '.join(PHASES)}"
            raise ValueError(msg)
        if phase != self.phase:
            self.phase_since = _now()
        self.phase = phase
        self.detail = detail
        self.error = error

    def set_details(self, details: Mapping[str, DetailValue]) -> None:
        """Replace the backend's facts (in display order)."""
        for key, value in details.items():
            if not _DETAIL_KEY.match(key):
                msg = f"placement detail key {key!r} is not snake_case"
                raise ValueError(msg)
            if not isinstance(value, (str, int, float, type(None))) or isinstance(value, bool):
                msg = f"placement detail {key!r} must be a string, number or null: {value!r}"
                raise TypeError(msg)
        self.details = dict(details)

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Take back what :meth:`to_dict` saved (a reattach record); unknown keys are left."""
        for name in ("host", "ip", "pid", "state", "phase", "phase_since", "detail", "error"):
            if name in saved:
                setattr(self, name, saved[name])
        if self.phase not in PHASES:  # a record from an older version
            self.phase = "starting"
        details = saved.get("details")
        if isinstance(details, Mapping):
            try:
                self.set_details(details)
            except (TypeError, ValueError):
                self.details = {}

    @property
    def where(self) -> str:
        """A human string saying where the kernel is, never empty."""
        if self.locator is not None:
            text = self.locator()
            if text:
                return text
        return f"{self.kind} · {self.host}" if self.host else self.kind

    def to_dict(self) -> dict[str, Any]:
        return {
            "provisioner": self.provisioner,
            "kind": self.kind,
            "host": self.host,
            "ip": self.ip,
            "pid": self.pid,
            "state": self.state,
            "phase": self.phase,
            "phase_since": self.phase_since,
            "detail": self.detail,
            "error": self.error,
            "where": self.where,
            "details": dict(self.details),
        }


def _nullable(kind: str, description: str) -> dict[str, Any]:
    return {"type": [kind, "null"], "description": description}


def schema() -> dict[str, Any]:
    """The JSON schema of :meth:`Placement.to_dict`."""
    string = {"type": "string"}
    properties: dict[str, Any] = {
        "provisioner": {**string, "description": "the provisioner's entry point name"},
        "kind": {**string, "description": "the backend's kind (its name in the entry points)"},
        "host": _nullable("string", "the host the kernel was placed on, once known"),
        "ip": _nullable("string", "the address the server connects to the kernel on"),
        "pid": _nullable("integer", "the launcher's process id on its host"),
        "state": _nullable("string", "the backend's own state string, if it has one"),
        "phase": {
            "enum": list(PHASES),
            "description": "; ".join(f"{name}: {text}" for name, text in PHASES.items()),
        },
        "phase_since": {**string, "description": "when the phase last changed (ISO 8601)"},
        "detail": {**string, "description": "what the phase waits for, or empty"},
        "error": _nullable("string", "why the launch failed or the kernel died"),
        "where": {
            **string,
            "minLength": 1,
            "description": "a human string saying where the kernel is (the backend's)",
        },
        "details": {
            "type": "object",
            "description": "the backend's own facts, snake_case keys in display order; a "
            "value starting with http:// or https:// is a link",
            "propertyNames": {"pattern": _DETAIL_KEY.pattern},
            "additionalProperties": {"type": ["string", "number", "null"]},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/jupyter_remote_kernels/placement.schema.json",
        "title": "Placement",
        "description": "Where a kernel runs and how far its launch has come "
        "(/api/kernels and /api/remote-kernels `placement`).",
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jupyter_remote_kernels.placement")
    parser.add_argument("--schema", action="store_true", help="print the placement's schema")
    args = parser.parse_args(argv)
    if not args.schema:
        parser.error("nothing to do: pass --schema")
    print(json.dumps(schema(), indent=2))


if __name__ == "__main__":
    main()
