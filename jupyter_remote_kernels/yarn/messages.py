"""What the YARN provisioner says when a kernel's application fails, queues or dies."""

from __future__ import annotations

import re
from typing import Any, Optional

from .client import FINAL_STATES

__all__ = ["died", "failed", "submit_failed", "timed_out"]

_EXIT_CODE = re.compile(r"exit ?code:? *(-?\d+)", re.I)


def _logs(app: dict[str, Any]) -> str:
    return str(app.get("amContainerLogs") or app.get("trackingUrl") or "-")


def failed(app: dict[str, Any], kernel_id: str) -> str:
    """An application that ended (or failed an attempt) before its kernel was ready."""
    diagnostics = str(app.get("diagnostics") or "").strip()
    code = _EXIT_CODE.search(diagnostics)
    exit_code = f", AM exit code {code.group(1)}" if code else ""
    state = app.get("state")
    if state not in FINAL_STATES:
        state = f"{state} after a failed attempt"
    return (
        f"YARN application {app.get('id')} of kernel {kernel_id} (queue "
        f"{app.get('queue')}) ended {state}/{app.get('finalStatus')}{exit_code} before "
        f"the kernel was ready. YARN diagnostics: {diagnostics or '(none)'} Logs: {_logs(app)}"
    )


def submit_failed(kernel_id: str, tag: str, code: int, output: str) -> str:
    """The submit command exited with an error before YARN had the application."""
    return (
        f"The submit command of kernel {kernel_id} exited with code {code} before YARN had "
        f"an application tagged {tag}. Check the kernelspec's argv, the YARN endpoint and "
        f"queue.\nSubmit output:\n{output}"
    )


def died(app: dict[str, Any], kernel_id: str, host: Optional[str]) -> str:
    """An application that ended under a ready kernel (node lost, killed, preempted)."""
    return (
        f"Kernel {kernel_id} died: YARN application {app.get('id')} ended "
        f"{app.get('state')}/{app.get('finalStatus')} on {host}. "
        f"YARN diagnostics: {str(app.get('diagnostics') or '(none)').strip()} Logs: {_logs(app)}"
    )


def timed_out(
    app: Optional[dict[str, Any]],
    *,
    kernel_id: str,
    tag: str,
    timeout: float,
    phase: str,
    host: Optional[str],
    rm_error: Optional[str],
    submit_output: str,
    response_address: str,
) -> str:
    """A launch that ran out of time, by how far its application got."""
    if app is None:
        if rm_error:
            return (
                f"Kernel {kernel_id}: the YARN ResourceManager failed while the launch "
                f"waited ({timeout:.0f} s), so the application tagged {tag} could not be "
                f"followed; it is killed if it was submitted. Last RM error: {rm_error}. Try "
                "again once the RM answers (check its health and yarn_endpoint / "
                "alt_yarn_endpoints), or raise launch_timeout."
            )
        return (
            f"Kernel {kernel_id}: no YARN application tagged {tag} appeared within "
            f"{timeout:.0f} s (launch phase: {phase}). Check the kernelspec's submit command "
            "and the RM." + (f"\nSubmit output:\n{submit_output}" if submit_output else "")
        )
    if app.get("state") != "RUNNING":
        return (
            f"Kernel {kernel_id}: YARN application {app['id']} stayed {app.get('state')} in "
            f"queue '{app.get('queue')}' for {timeout:.0f} s: the queue is full or the cluster "
            "has no capacity for its ApplicationMaster. The application was killed. Try again "
            "later, use another queue, or raise launch_timeout. YARN diagnostics: "
            f"{app.get('diagnostics') or '(none)'}"
        )
    return (
        f"Kernel {kernel_id}: YARN application {app['id']} is RUNNING on {host} but its "
        f"launcher did not call back within {timeout:.0f} s. The application was killed. "
        f"Check that the container can reach this server at {response_address} (callback_ip) "
        f"and the AM logs: {_logs(app)}"
    )
