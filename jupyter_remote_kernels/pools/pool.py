"""One warm pool: a kernelspec's idle kernels for one kernel user."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

__all__ = ["PoolKey", "WarmPool"]


@dataclass(frozen=True)
class PoolKey:
    """What a pool serves: kernels of ``kernel_name`` running as ``user``."""

    kernel_name: str
    #: The kernel user (``KERNEL_USERNAME``) its kernels run as.
    user: str


class WarmPool:
    """Idle kernels of one :class:`PoolKey`, the launches refilling it and its last failure.

    Kept by :class:`~.pools.KernelPools`; every method runs on the event loop.
    """

    def __init__(self, key: PoolKey) -> None:
        self.key = key
        self.display_name = key.kernel_name
        #: The kernelspec, translated (read in a thread); its kernels are launched with it.
        self.spec: Any = None
        self.target = 0
        #: Request values that need a fresh kernel (see ``PoolingMixin.launch_env_names``).
        self.launch_env_names: frozenset[str] = frozenset()
        #: Ready idle kernel managers, oldest first.
        self.ready: list[Any] = []
        #: Kernel managers launching for this pool, by kernel id.
        self.launching: dict[str, Any] = {}
        self.error = ""
        self.failures = 0
        self.retry_at = 0.0
        self.refill_at = 0.0

    @property
    def missing(self) -> int:
        """Kernels to launch to reach the target."""
        return max(0, self.target - len(self.ready) - len(self.launching))

    def serves(self, env: dict[str, str]) -> bool:
        """True when a request with ``env`` can take a kernel of this pool."""
        return not any(env.get(name) for name in self.launch_env_names)

    def failed(self, error: str, retry_interval: float) -> None:
        """A launch failed: show why, and wait before the next (longer each time in a row)."""
        self.error = error
        self.failures += 1
        delay = min(retry_interval * 2 ** (self.failures - 1), retry_interval * 30)
        self.retry_at = time.monotonic() + delay

    def filled(self, km: Any) -> None:
        self.ready.append(km)
        self.error = ""
        self.failures = 0

    def status(self) -> str:
        if self.target and len(self.ready) >= self.target:
            return "full"
        return "failing" if self.error else "filling"

    def model(self) -> dict[str, Any]:
        """The ``/api/remote-kernels/pools`` model."""
        return {
            "kernel_name": self.key.kernel_name,
            "display_name": self.display_name,
            "user": self.key.user,
            "target": self.target,
            "ready": len(self.ready),
            "launching": len(self.launching),
            "status": self.status(),
            "detail": self.error or self.waiting(),
        }

    def waiting(self) -> str:
        """What a pool launch waits for, when a scheduler holds it (phase ``pending``, with
        the scheduler's reason)."""
        for km in self.launching.values():
            placement = getattr(km, "placement", None)
            if placement is not None and placement.phase == "pending":
                reason = f" ({placement.detail})" if placement.detail else ""
                return f"a pool kernel is {placement.phase}{reason}"
        return ""

    def kernels(self) -> list[Any]:
        return [*self.ready, *self.launching.values()]
