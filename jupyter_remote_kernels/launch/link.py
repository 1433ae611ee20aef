"""The server's line to one running launcher: its communication port and whether it answers.

A :class:`LauncherLink` wraps the communication-port client of a launcher (this package's
authenticated one, or Enterprise Gateway's legacy one), counts pings left unanswered, and
turns into (and back from) the record a later server reattaches with.
"""

from __future__ import annotations

import logging
import signal
from typing import Any, Optional, Union

from ..errors import CommPortError
from .comm import CommClient, CommRefused
from .legacy import LegacyCommClient

__all__ = ["UNANSWERED_LIMIT", "LauncherLink"]

#: Pings in a row left unanswered after which the kernel counts as unreachable.
UNANSWERED_LIMIT = 3

Client = Union[CommClient, LegacyCommClient]


class LauncherLink:
    """One launcher's communication port, as seen from the server."""

    def __init__(self, client: Client, log: Optional[logging.Logger] = None) -> None:
        self.client = client
        self.log = log or logging.getLogger(__name__)
        self.unanswered = 0

    # ------------------------------------------------------------------ making one

    @classmethod
    def from_callback(  # noqa: PLR0917 (the callback's parts, in order)
        cls,
        info: dict[str, Any],
        ip: str,
        kernel_id: str,
        auth_key: str,
        timeout: float,
        log: Optional[logging.Logger] = None,
    ) -> LauncherLink:
        """The link to a launcher that just called back with ``info`` (reachable at ``ip``)."""
        client: Client
        if info.get("legacy"):
            client = LegacyCommClient(ip, info["comm_port"], kernel_id, info["hb_port"], timeout)
        else:
            client = CommClient(ip, info["comm_port"], kernel_id, auth_key, timeout=timeout)
        return cls(client, log)

    @classmethod
    def from_record(
        cls,
        record: dict[str, Any],
        kernel_id: str,
        auth_key: Optional[str],
        timeout: float,
        log: Optional[logging.Logger] = None,
    ) -> Optional[LauncherLink]:
        """The link :meth:`record` described, or None when the record has none."""
        if not record:
            return None
        host, port = str(record["host"]), int(record["port"])
        if record.get("legacy_hb_port"):
            legacy = LegacyCommClient(host, port, kernel_id, int(record["legacy_hb_port"]), timeout)
            legacy.hb_seen = True  # it ran before this server: refused now means gone
            return cls(legacy, log)
        if auth_key:
            return cls(CommClient(host, port, kernel_id, auth_key, timeout=timeout), log)
        return None

    def record(self) -> dict[str, Any]:
        """What a later server needs to reach this launcher again."""
        record: dict[str, Any] = {"host": self.client.host, "port": self.client.port}
        if isinstance(self.client, LegacyCommClient):
            record["legacy_hb_port"] = self.client.hb_port
        return record

    # ------------------------------------------------------------------ state

    @property
    def legacy(self) -> bool:
        """True for Enterprise Gateway's / gateway_provisioners' launcher."""
        return isinstance(self.client, LegacyCommClient)

    @property
    def unreachable(self) -> bool:
        """The port stopped answering (host down or cut off): no step waits for it again."""
        return self.unanswered >= UNANSWERED_LIMIT

    async def alive(self) -> tuple[bool, str]:
        """(alive, why not) from one authenticated ping; used to reattach."""
        try:
            reply = await self.client.send("ping")
        except CommPortError as exc:
            return False, str(exc)
        if reply.get("alive"):
            return True, ""
        return False, "its kernel has exited"

    async def poll(self) -> Optional[int]:
        """None while the kernel runs, else its exit code (1 when unreachable)."""
        if self.unreachable:
            return 1
        try:
            reply = await self.client.send("ping")
        except CommRefused:
            return 1
        except CommPortError as exc:
            self.unanswered += 1
            if self.unreachable:
                self.log.warning("Kernel %s is unreachable: %s", self.client.kernel_id, exc)
                return 1
            return None
        self.unanswered = 0
        if reply.get("alive"):
            return None
        exit_code = reply.get("exit_code")
        return exit_code if isinstance(exit_code, int) else 1

    # ------------------------------------------------------------------ commands

    async def signal(self, signum: int) -> None:
        """Deliver ``signum`` to the kernel's process group; a lost kernel is only logged."""
        if self.unreachable:
            return
        cmd = "interrupt" if signum == signal.SIGINT else "signal"
        try:
            await self.client.send(cmd, signum)
        except CommRefused:
            self.log.debug("Kernel %s is gone; signal %d not sent", self.client.kernel_id, signum)
        except CommPortError as exc:
            # An unreachable host (down, cut off): jupyter_client interrupts before every
            # shutdown and restart, which must go on; poll() reports the kernel dead.
            self.log.warning("Signal %d not delivered: %s", signum, exc)

    async def stop(self, cmd: str) -> bool:
        """Send ``terminate`` or ``kill``; True when the kernel must be stopped by force."""
        if self.unreachable:
            return True
        try:
            await self.client.send(cmd)
        except CommRefused:
            return False
        except CommPortError as exc:
            self.log.warning("%s; stopping kernel %s by force", exc, self.client.kernel_id)
            return True
        return False

    async def prepare(self, cwd: Optional[str], env: dict[str, str]) -> None:
        """Have a warm pool's kernel take a start request's working directory and environment.

        Called by the pool when it hands the kernel out, before the start request is
        answered. Returns once the kernel process itself has changed to ``cwd`` (when given)
        and added ``env`` to its ``os.environ``; raises
        :class:`~jupyter_remote_kernels.errors.CommPortError` when they were not applied
        (not a pool launch, a folder the kernel cannot enter, no answer in time, or a legacy
        launcher, which has no such command): the kernel must not be handed out then.
        """
        kernel_id = self.client.kernel_id
        what = f"working directory {cwd!r} and environment" if cwd else "environment"
        if self.legacy:
            msg = (
                f"Kernel {kernel_id} runs on Enterprise Gateway's (or gateway_provisioners') "
                f"launcher, which cannot take a {what} after start; warm pools need this "
                f"package's launcher (launch_ipykernel.py of jupyter_remote_kernels) in the "
                f"kernelspec, or set its pool_size to 0"
            )
            raise CommPortError(msg)
        if self.unreachable:
            msg = (
                f"Kernel {kernel_id} cannot take its {what}: its launcher at "
                f"{self.client.host}:{self.client.port} stopped answering; start a fresh kernel"
            )
            raise CommPortError(msg)
        try:
            reply = await self.client.send("prepare", args={"cwd": cwd, "env": dict(env)})
        except CommPortError as exc:
            msg = f"Kernel {kernel_id} did not take its {what}: {exc}; start a fresh kernel"
            raise CommPortError(msg) from exc
        if reply.get("ok") is not True:
            check = " (and check that the folder exists on the kernel's host)" if cwd else ""
            msg = (
                f"Kernel {kernel_id} at {self.client.host}:{self.client.port} did not take its "
                f"{what}: {reply.get('error')}. Do not hand this kernel out: start a fresh "
                f"one{check}"
            )
            raise CommPortError(msg)

    async def make_sure_stopped(self) -> None:
        """A last ``kill`` after a shutdown, unless the port is known unreachable."""
        if not self.unreachable:
            try:
                await self.client.send("kill")
            except CommPortError as exc:
                self.log.debug("Kernel %s: final kill not sent: %s", self.client.kernel_id, exc)
