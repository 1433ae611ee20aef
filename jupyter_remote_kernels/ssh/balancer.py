"""Which host an ssh kernel goes to: round-robin, least-loaded or first-available."""

from __future__ import annotations

from typing import Optional

from ..services import Services
from .pool import SSHTarget

__all__ = ["SERVICE", "HostBalancer", "balancer_of"]

#: The entry of the balancer in the server's :class:`~jupyter_remote_kernels.services.Services`.
SERVICE = "SSH host balancer"


class HostBalancer:
    """Kernels placed per host and round-robin turns, shared by one server's ssh kernels.

    Used on the event loop only (no lock): :meth:`plan` takes the first host's slot before
    any await, which keeps least-loaded right when many starts arrive together.
    """

    def __init__(self) -> None:
        #: Kernels placed (launching or running) per host label.
        self._load: dict[str, int] = {}
        #: Next round-robin position per host list.
        self._turn: dict[tuple[str, ...], int] = {}

    def load(self, target: SSHTarget) -> int:
        """Kernels placed on ``target`` now."""
        return self._load.get(target.label, 0)

    def plan(
        self, hosts: list[SSHTarget], policy: str, previous: Optional[SSHTarget] = None
    ) -> list[SSHTarget]:
        """The hosts to try, in order, for one start; the first one's slot is taken.

        ``previous`` is the host of a kernel being restarted: it stays there while that
        host works, and a restart takes no round-robin turn (only new kernels do).
        """
        restart = previous is not None and previous in hosts
        if policy == "first-available":
            plan = list(hosts)
        elif restart:
            plan = sorted(hosts, key=self.load) if policy == "least-loaded" else list(hosts)
        else:
            key = tuple(t.label for t in hosts)
            turn = self._turn.get(key, 0)
            self._turn[key] = turn + 1
            start = turn % len(hosts)
            plan = hosts[start:] + hosts[:start]
            if policy == "least-loaded":
                plan.sort(key=self.load)
        if restart:
            assert previous is not None
            plan.remove(previous)
            plan.insert(0, previous)
        self.take(plan[0])
        return plan

    def take(self, target: SSHTarget) -> None:
        """Count a kernel on ``target`` (a launch going there, or one reattached)."""
        self._load[target.label] = self._load.get(target.label, 0) + 1

    def free(self, target: SSHTarget) -> None:
        """A kernel counted on ``target`` has gone (or went elsewhere)."""
        self._load[target.label] = max(0, self._load.get(target.label, 0) - 1)


def balancer_of(services: Services) -> HostBalancer:
    """The server's host balancer, made on first use."""
    return services.get(SERVICE, HostBalancer)
