"""Running the Slurm commands (``sbatch``, ``squeue``, ``scancel``, ``scontrol``, ``sinfo``).

On this machine each runs as an asyncio subprocess with a timeout (never on the event loop's
thread, never through a shell) and a small environment: ``$SLURM_CONF`` when the kernelspec
names one. On a login node (``slurm_login_host``) each runs over one channel of the SSH
backend's pooled connection, in its worker threads, every word quoted for the login shell and
``sbatch``'s script on the channel's stdin. A command that does not answer in time is killed
and reported as a :class:`~jupyter_remote_kernels.slurm.errors.SlurmError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
from dataclasses import dataclass
from typing import Optional

from ..ssh import SSHConnections, SSHHostError, SSHTarget
from .errors import SlurmError

__all__ = ["CommandResult", "LoginHost", "SlurmCommands"]


@dataclass(frozen=True)
class LoginHost:
    """A login node the Slurm commands run on, through the server's SSH connections."""

    target: SSHTarget
    connections: SSHConnections


@dataclass
class CommandResult:
    """What a finished Slurm command returned."""

    code: int
    out: str
    err: str

    def message(self) -> str:
        """Its error output, else its output, for messages."""
        text = self.err.strip() or self.out.strip() or f"exit code {self.code}"
        return " ".join(text.split())[-2000:]


class SlurmCommands:
    """Runs one cluster's Slurm commands (found in ``bin_dir`` or on PATH)."""

    def __init__(
        self, bin_dir: str, conf: str, timeout: float, login: Optional[LoginHost] = None
    ) -> None:
        self.bin_dir = bin_dir
        self.conf = conf
        self.timeout = timeout
        self.login = login
        #: The controller's address once asked (``jobs.controller_host``).
        self.controller: Optional[str] = None

    @property
    def key(self) -> tuple:
        """What tells two clusters apart (one poller per key)."""
        where = self.login.target.label if self.login is not None else ""
        return (self.bin_dir, self.conf, self.timeout, where)

    def program(self, name: str) -> str:
        return os.path.join(self.bin_dir, name) if self.bin_dir else name

    def environment(self, extra: Optional[dict[str, str]] = None) -> dict[str, str]:
        """The command's environment: PATH, HOME, USER, LANG and ``$SLURM_CONF``."""
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "USER", "LANG")}
        if self.conf:
            env["SLURM_CONF"] = self.conf
        elif os.environ.get("SLURM_CONF"):
            env["SLURM_CONF"] = os.environ["SLURM_CONF"]
        env.update(extra or {})
        return env

    async def run(
        self,
        name: str,
        args: list[str],
        *,
        stdin: Optional[bytes] = None,
        env: Optional[dict[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> CommandResult:
        """Run ``name args...``; raises :class:`SlurmError` if it cannot run or runs too long.

        ``env`` replaces the default environment (:meth:`environment`) when given.
        """
        limit = self.timeout if timeout is None else timeout
        if self.login is not None:
            return await self._run_on_login_host(self.login, name, args, stdin, limit)
        try:
            process = await asyncio.create_subprocess_exec(
                self.program(name),
                *args,
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self.environment() if env is None else env,
                start_new_session=True,
            )
        except OSError as exc:
            where = f"in {self.bin_dir}" if self.bin_dir else "on PATH"
            msg = (
                f"cannot run the Slurm command {name} ({where}): {exc.strerror or exc}. "
                "Install Slurm's client commands on this machine (Debian: slurm-client) or "
                "set slurm_bin_dir in the kernelspec's process_proxy.config."
            )
            raise SlurmError(msg) from exc
        try:
            out, err = await asyncio.wait_for(process.communicate(stdin), limit)
        except asyncio.TimeoutError:
            msg = (
                f"the Slurm command {name} did not finish within {limit:.0f} s (is slurmctld "
                "up and reachable?); raise slurm_command_timeout if the controller is slow"
            )
            raise SlurmError(msg) from None
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(process.wait(), 5)
        return CommandResult(
            int(process.returncode or 0), out.decode(errors="replace"), err.decode(errors="replace")
        )

    async def _run_on_login_host(
        self,
        login: LoginHost,
        name: str,
        args: list[str],
        stdin: Optional[bytes],
        limit: float,
    ) -> CommandResult:
        """``name args`` on the login node; its exit status, output and error output."""
        words = [self.program(name), *args]
        if self.conf:
            words = ["env", f"SLURM_CONF={self.conf}", *words]
        command = " ".join(shlex.quote(word) for word in words)
        where = login.target.label
        try:
            status, out, err = await login.connections.call(
                login.connections.pool.run, login.target, command, limit, stdin or b""
            )
        except SSHHostError as exc:
            msg = f"cannot run the Slurm command {name} on the login node {where}: {exc}"
            raise SlurmError(msg) from exc
        if status is None:
            msg = (
                f"the Slurm command {name} on the login node {where} did not finish within "
                f"{limit:.0f} s (is slurmctld up?); raise slurm_command_timeout if it is slow"
            )
            raise SlurmError(msg)
        if status == 127:
            msg = (
                f"the login node {where} has no Slurm command {name} ({err.strip()}); set "
                "slurm_bin_dir to the folder of sbatch there"
            )
            raise SlurmError(msg)
        return CommandResult(int(status), out, err)
