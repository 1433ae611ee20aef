"""Running the Slurm commands (``sbatch``, ``squeue``, ``scancel``, ``scontrol``, ``sinfo``).

Each runs as an asyncio subprocess with a timeout (never on the event loop's thread, never
through a shell) and a small environment: ``$SLURM_CONF`` when the kernelspec names one, and
the variables a job is meant to get. A command that does not answer in time is killed and
reported as a :class:`~jupyter_remote_kernels.errors.SlurmError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass
from typing import Optional

from ..errors import SlurmError

__all__ = ["CommandResult", "SlurmCommands"]


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

    def __init__(self, bin_dir: str, conf: str, timeout: float) -> None:
        self.bin_dir = bin_dir
        self.conf = conf
        self.timeout = timeout
        #: Commands run so far, by name (the tests count the squeue polls with it).
        self.counts: dict[str, int] = {}

    @property
    def key(self) -> tuple:
        """What tells two clusters apart (one poller per key)."""
        return (self.bin_dir, self.conf, self.timeout)

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
        self.counts[name] = self.counts.get(name, 0) + 1
        limit = self.timeout if timeout is None else timeout
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
