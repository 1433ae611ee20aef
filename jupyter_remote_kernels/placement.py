"""Where a kernel runs and how far its launch has come, as the REST API shows it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

__all__ = ["PHASES", "Placement"]

#: Launch phases, in the order a launch goes through them (not every placement uses all).
PHASES = (
    "starting",
    "submitting",
    "queued",
    "pending",
    "waiting-for-launcher",
    "ready",
    "pooled",
    "failed",
    "shutting-down",
    "dead",
)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


@dataclass
class Placement:
    """The placement of one kernel; provisioners update it as the launch goes on."""

    provisioner: str
    kind: str
    host: Optional[str] = None
    ip: Optional[str] = None
    pid: Optional[int] = None
    app_id: Optional[str] = None
    queue: Optional[str] = None
    tracking_url: Optional[str] = None
    job_id: Optional[str] = None
    partition: Optional[str] = None
    time_left: Optional[str] = None
    state: Optional[str] = None
    phase: str = "starting"
    phase_since: str = field(default_factory=_now)
    detail: str = ""
    error: Optional[str] = None

    def set_phase(self, phase: str, detail: str = "", error: Optional[str] = None) -> None:
        """Move to ``phase``; the time is recorded only when the phase changes."""
        if phase not in PHASES:
            msg = f"unknown launch phase {phase!r}"
            raise ValueError(msg)
        if phase != self.phase:
            self.phase_since = _now()
        self.phase = phase
        self.detail = detail
        self.error = error

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
