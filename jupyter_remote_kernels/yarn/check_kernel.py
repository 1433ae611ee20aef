"""``check NAME`` for a YARN kernelspec with ``kernel_argv``: the kernel's command on a
NodeManager host.

The kernel runs in the application master's container (the launcher is Spark's driver
there), so the check looks where it will run: a probe application submitted through the RM's
REST API (``POST /apps``) whose AM command is ``command -v CMD`` (``python3 -c 'import
MODULE'`` for ``python -m MODULE``), one attempt, the smallest container. That AM never
registers, so the RM fails its attempt and reports the command's exit status in the
application's diagnostics (``AM Container for appattempt_... exited with  exitCode: N``):
0 means found. One NodeManager is checked, the one the scheduler chose (YARN runs nothing on
a chosen node without an application master of one's own); the other backends' checks look
on every host. The probe is killed if it has not ended within the timeout.
"""

from __future__ import annotations

import re
import time
from typing import Any

from .client import YarnClient
from .errors import YarnError

__all__ = ["PROBE_TAG", "check_kernel_command"]

PROBE_TAG = "jupyter-remote-kernels-check"
_WORD = re.compile(r"[A-Za-z0-9_./+-]+")
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_EXIT = re.compile(r"exitCode:\s*(-?\d+)")
_ENDED = ("FINISHED", "FAILED", "KILLED")
#: The container's output goes to its log folder, as for any AM (the NodeManager fills it in).
_LOGS = " 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"


def _probe_command(kernel_argv: list[str]) -> tuple[str, str]:
    """(container command, what it looks for); ("", reason) when it cannot be checked."""
    head = kernel_argv[0]
    if head in ("python", "python3") and len(kernel_argv) > 2 and kernel_argv[1] == "-m":
        module = kernel_argv[2]
        if not _MODULE.fullmatch(module):
            return "", f"{module!r} is not a module name"
        return f"python3 -c 'import {module}'{_LOGS}", f"{head} -m {module}"
    if not _WORD.fullmatch(head):
        # The RM writes the command into a double-quoted ``bash -c`` line as it is.
        return "", f"{head!r} has characters a container command cannot carry unquoted"
    return f"command -v {head}{_LOGS}", head


def _wait(client: YarnClient, app_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    app: dict[str, Any] = {}
    while time.monotonic() < deadline:
        app = client.app(app_id) or {}
        if app.get("state") in _ENDED:
            return app
        time.sleep(1.0)
    client.kill(app_id)
    return app


def check_kernel_command(client: YarnClient, kernel_argv: list[str], queue: str,
                         timeout: float) -> tuple[str, bool, str]:
    """The ``kernel`` row of ``check NAME``: the command's exit status in a probe AM."""
    command, what = _probe_command(kernel_argv)
    if not command:
        return ("kernel", False, f"not checked: {what}; fix kernel_argv in the kernelspec")
    try:
        app_id = client.new_application()
        client.submit_application({
            "application-id": app_id,
            "application-name": "jupyter-remote-kernels check: kernel command",
            "application-type": "jupyter-remote-kernels-check",
            "application-tags": {"tag": [PROBE_TAG]},
            "queue": queue,
            "am-container-spec": {"commands": {"command": command}},
            "resource": {"memory": 128, "vCores": 1},
            "max-app-attempts": 1,
            "unmanaged-AM": False,
            "keep-containers-across-application-attempts": False,
        })  # fmt: skip
        app = _wait(client, app_id, timeout)
    except YarnError as exc:
        return ("kernel", False, f"the probe application for {what} failed: {exc}")
    host = str(app.get("amHostHttpAddress") or "?").split(":")[0]
    found = _EXIT.search(str(app.get("diagnostics") or ""))
    if app.get("state") not in _ENDED or found is None:
        return ("kernel", False, (
            f"not checked: the probe application {app_id} did not run within {timeout:g} s "
            f"(state {app.get('state', '?')}: {app.get('diagnostics') or 'no diagnostics'})"
        ))
    if found.group(1) != "0":
        return ("kernel", False, (
            f"{what} is not found on NodeManager {host} (exit status {found.group(1)} of "
            f"`{command.removesuffix(_LOGS)}` in {app_id}): install the kernel on the "
            "NodeManager hosts or fix kernel_argv in the kernelspec"
        ))
    return ("kernel", True, f"{what} on NodeManager {host} ({app_id})")
