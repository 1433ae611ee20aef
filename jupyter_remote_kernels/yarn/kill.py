"""Ending a kernel's YARN applications for sure: kill, then wait until YARN confirms."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Optional

from .client import FINAL_STATES, YarnClient, YarnRequestError
from .errors import YarnError

__all__ = ["kill_and_confirm", "send_kill", "unfinished_apps"]


async def send_kill(
    client: YarnClient, app_id: str, tag: str, log: logging.Logger
) -> Optional[str]:
    """Ask YARN to kill ``app_id`` without waiting for it (logged); the state YARN gave."""
    try:
        state = await client.run(client.kill, app_id)
    except YarnError as exc:
        log.warning("Kernel %s: asking YARN to kill application %s failed: %s", tag, app_id, exc)
        return None
    log.info(
        "Kernel %s: YARN accepted the kill of application %s (state %s)", tag, app_id, state or "?"
    )
    return state


async def kill_and_confirm(
    client: YarnClient, app_id: str, tag: str, kill_timeout: float, log: logging.Logger
) -> Optional[str]:
    """``PUT /apps/{id}/state KILLED`` unless it ended, then wait for a final state.

    Its outcome is logged: confirmed ended (INFO) or still alive at ``kill_timeout``
    (ERROR, with the command that kills it). Returns the final state when confirmed.
    """
    deadline = time.monotonic() + kill_timeout
    state: Optional[str] = None
    sent = False
    delay, last_error = 0.1, None
    while time.monotonic() < deadline:
        try:
            state = await client.run(client.app_state, app_id)
            if state is None or state in FINAL_STATES:
                log.info(
                    "Kernel %s: YARN application %s ended (%s)",
                    tag,
                    app_id,
                    state or "unknown to the RM",
                )
                return state
            if not sent:
                await client.run(client.kill, app_id)
                sent = True
            delay = 0.1
        except YarnError as exc:
            if last_error is None:
                log.warning("Kernel %s: %s; retrying until confirmed", tag, exc)
            last_error = exc
            delay = min(delay * 2, 2.0)
        await asyncio.sleep(delay)
    log.error(
        "YARN application %s of kernel %s is still %s %.0f s after it was killed%s; kill "
        "it with `yarn application -kill %s`",
        app_id,
        tag,
        state or "in an unknown state",
        kill_timeout,
        f" (last RM error: {last_error})" if last_error else "",
        app_id,
    )
    return None


async def unfinished_apps(
    client: YarnClient, tag: str, past: set[str], kill_timeout: float, log: logging.Logger
) -> set[str]:
    """Applications tagged ``tag`` (but not in ``past``) not in a final state, from the RM.

    An RM failing (500s, timeouts) is asked again until ``kill_timeout``: an application
    submitted while the RM could not be followed must still be found and killed. A
    refusal that asking again cannot change (HTTP 4xx) is not.
    """
    deadline = time.monotonic() + kill_timeout
    delay = 0.2
    while True:
        try:
            apps = await client.run(client.apps_by_tags, [tag])
        except YarnError as exc:
            lasting = isinstance(exc, YarnRequestError) and 400 <= exc.status < 500
            if lasting or time.monotonic() + delay > deadline:
                log.error(  # noqa: TRY400 (the RM's answer, not our traceback)
                    "Kernel %s: cannot ask the RM for applications tagged %s: %s; kill any "
                    "left with `yarn application -list -appTags %s` and "
                    "`yarn application -kill ID`",
                    tag,
                    tag,
                    exc,
                    tag,
                )
                return set()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
            continue
        return {
            a["id"]
            for a in apps
            if a.get("id") not in past and str(a.get("state")).upper() not in FINAL_STATES
        }
