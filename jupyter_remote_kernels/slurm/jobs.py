"""Small Slurm operations of the provisioner: cancel and confirm, the controller, exit codes."""

from __future__ import annotations

import asyncio
import os
import re
import time
from typing import Any, Optional

from .commands import SlurmCommands
from .errors import SlurmError
from .poller import SlurmPoller

__all__ = ["cancel_and_confirm", "controller_host", "exit_code_of", "export_env"]

_CONTROLLER = re.compile(r"^SlurmctldHost\[0\]\s*=\s*([^\s(]+)(?:\(([^)]+)\))?", re.M)
_EXIT_CODE = re.compile(r"\bExitCode=(\d+):(\d+)")


def export_env(names: list[str]) -> dict[str, str]:
    """The variables of the server's environment a job gets (``slurm_export_env``)."""
    return {name: os.environ[name] for name in names if name in os.environ}


def parse_controller(config: str) -> str:
    """The controller's address (else its name) in ``scontrol show config`` output."""
    match = _CONTROLLER.search(config)
    if not match:
        return ""
    return match.group(2) or match.group(1)


async def controller_host(commands: SlurmCommands) -> str:
    """The primary slurmctld's address or name (asked once per cluster); empty if unknown."""
    if commands.controller is None:
        try:
            result = await commands.run("scontrol", ["show", "config"])
        except SlurmError:
            return ""
        if result.code != 0:
            return ""
        commands.controller = parse_controller(result.out)
    return commands.controller


async def exit_code_of(commands: SlurmCommands, job_id: str) -> Optional[str]:
    """A job's ``ExitCode`` (``code:signal``) from ``scontrol show job``, if Slurm still has it."""
    try:
        result = await commands.run("scontrol", ["show", "job", job_id])
    except SlurmError:
        return None
    match = _EXIT_CODE.search(result.out)
    return f"{match.group(1)}:{match.group(2)}" if match else None


async def cancel_and_confirm(
    poller: SlurmPoller, name: str, job_id: str, timeout: float, log: Any
) -> bool:
    """scancel ``job_id`` unless it ended, and wait until the poller sees it ended.

    True when Slurm confirmed the end within ``timeout`` seconds (logged otherwise). A job
    Slurm no longer lists has ended (it forgets jobs ``MinJobAge`` seconds after their end).
    """
    job = poller.job(name, job_id)
    if job is not None and job.ended:
        return True
    result = None
    try:
        result = await poller.commands.run("scancel", [job_id])
    except SlurmError as exc:
        log.warning("scancel %s failed: %s", job_id, exc)
    if result is not None and result.code != 0:
        # A kernel that ended by itself: its job is already done (or about to be).
        level = log.debug if "already" in result.message() else log.warning
        level("scancel %s: %s", job_id, result.message())
    deadline = time.monotonic() + timeout
    round_timeout = 2 * poller.interval + poller.commands.timeout
    # A round that began before the scancel (or the sbatch) may not list the job yet: only
    # the second round after this point can tell "gone" from "not seen yet". The first
    # rounds start at once (a shutdown waits for them); later ones keep the interval.
    trusted_from = poller.rounds + 2
    while time.monotonic() < deadline:
        if poller.rounds < trusted_from + 2:
            poller.refresh()
        await poller.next_round(min(round_timeout, max(0.1, deadline - time.monotonic())))
        if poller.last_error is not None:
            await asyncio.sleep(min(poller.interval, max(0.0, deadline - time.monotonic())))
            continue
        job = poller.job(name, job_id)
        if (job is None and poller.rounds >= trusted_from) or (job is not None and job.ended):
            return True
    log.error(
        "Slurm job %s (kernel %s) did not end within %.0f s of scancel; cancel it by hand "
        "(scancel %s)",
        job_id,
        name,
        timeout,
        job_id,
    )
    return False
