"""A running kernel through its launcher: poll, signals and stopping.

The half of :class:`~.base.LauncherProvisionerBase` that jupyter_client's ``KernelManager``
calls once the kernel runs. It needs of the provisioner: ``link`` (the launcher's
:class:`~jupyter_remote_kernels.launch.link.LauncherLink`, None when no kernel runs),
``launcher_exit_code()``, ``force_stop()``, ``placement``, ``parent`` and
``legacy_shutdown_grace``.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any, Optional

__all__ = ["LifecycleMixin"]


class LifecycleMixin:
    """poll / wait / send_signal / terminate / kill of a launcher-based provisioner."""

    link: Any
    placement: Any
    parent: Any
    legacy_shutdown_grace: float

    async def launcher_exit_code(self) -> Optional[int]:
        """The launcher's exit code if this provisioner can see it has exited, else None."""
        return None

    async def force_stop(self) -> None:
        """Stop launcher and kernel without the communication port (last resort)."""

    @property
    def unreachable(self) -> bool:
        """The kernel's communication port stopped answering (host down or cut off).

        Once poll() has reported it dead for that, the shutdown or restart that follows
        does not wait for the port again for each of its steps.
        """
        return self.link is not None and self.link.unreachable

    @property
    def has_process(self) -> bool:
        """True while a launched kernel is being managed."""
        return self.link is not None

    async def poll(self) -> Optional[int]:
        """None while the kernel runs, else its exit code.

        Called by ``KernelManager.is_alive`` (the restarter, every few seconds, and every
        0.1 s while a shutdown waits). Answers from the launcher's process when this
        provisioner sees it, else with one authenticated ping.
        """
        code = await self.launcher_exit_code()
        if code is not None or self.link is None:
            return code if code is not None else 0
        return await self.link.poll()

    async def wait(self) -> Optional[int]:
        """Wait until the kernel has exited; callers bound it with a timeout."""
        while True:
            code = await self.poll()
            if code is not None:
                return code
            await asyncio.sleep(0.1)

    async def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the kernel's process group through the communication port.

        Called by ``KernelManager.signal_kernel`` / ``interrupt_kernel`` (SIGINT).
        """
        if self.link is None:
            return
        if signum == 0:
            await self.poll()
            return
        if self.link.unreachable:
            return  # poll() reported it dead; the shutdown or restart goes on without it
        if (
            signum == signal.SIGINT
            and self.link.legacy
            and getattr(self.parent, "shutting_down", False)
        ):
            # jupyter_client interrupts a kernel right before it sends the shutdown request.
            # A kernel on EG's / GP's launcher would answer the request by stopping the
            # launcher's listener and then wait ~29 s for it: SIGTERM it now, through the
            # listener while it still listens (as EG stops such kernels).
            await self._stop_command("terminate")
            return
        await self.link.signal(signum)

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float:
        """Seconds ``KernelManager.finish_shutdown`` waits in all (half, then SIGTERM).

        Called by jupyter_client during a graceful shutdown or restart. A legacy launcher's
        kernel never exits by itself in time (see LegacyCommClient), so it gets
        ``legacy_shutdown_grace`` before the SIGTERM instead of half the recommended time.
        """
        if self.link is not None and self.link.legacy:
            return min(recommended, 2 * self.legacy_shutdown_grace)
        return recommended

    async def terminate(self, restart: bool = False) -> None:
        """Ask the kernel to stop (SIGTERM to its group); called during shutdown."""
        await self._stop_command("terminate")

    async def kill(self, restart: bool = False) -> None:
        """Kill the kernel (SIGKILL to its group); called when a shutdown runs out of time."""
        await self._stop_command("kill")

    async def _stop_command(self, cmd: str) -> None:
        if self.link is None:
            return
        self.placement.set_phase("shutting-down")
        if await self.link.stop(cmd):
            await self.force_stop()
