"""What the YARN provisioner says when a kernel's application fails, queues or dies.

A launch waits either for an ApplicationMaster container (the queue or the capacity) or,
once one runs, for the driver; an application the RM refuses outright (a queue at its
maximum-applications) is a PlacementError (HTTP 503) with the queue and YARN's reason.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from .client import FINAL_STATES

__all__ = [
    "am_node",
    "died",
    "failed",
    "launch_phase",
    "rejected",
    "rejected_reason",
    "submit_failed",
    "timed_out",
]

_EXIT_CODE = re.compile(r"exit ?code:? *(-?\d+)", re.I)
_JAVA_EXCEPTION = re.compile(r"^(?:[a-z]\w*\.)+\w*(?:Exception|Error): ")


def _logs(app: dict[str, Any]) -> str:
    return str(app.get("amContainerLogs") or app.get("trackingUrl") or "-")


def am_node(app: dict[str, Any]) -> Optional[str]:
    """The node of the application's ApplicationMaster container, once YARN allocated one.

    A real RM reports ``amHostHttpAddress`` (and ``allocatedMB`` > 0) from the moment the
    AM container is allocated, while the application is still ACCEPTED: a Spark
    application is RUNNING only once its driver registers.
    """
    address = str(app.get("amHostHttpAddress") or "")
    if address:
        return address.rpartition(":")[0] or address
    allocated = app.get("allocatedMB")
    if isinstance(allocated, (int, float)) and allocated > 0:
        return "an unnamed node"
    return None


def _am_container(app: dict[str, Any], node: str) -> str:
    launched = app.get("launchTime")
    verb = "running" if isinstance(launched, (int, float)) and launched > 0 else "allocated"
    return f"ApplicationMaster container {verb} on {node}"


def launch_phase(app: dict[str, Any]) -> tuple[str, str]:
    """Launch phase and detail of a live application: waiting for an AM container (no
    allocation: the queue or the cluster's capacity, with YARN's diagnostics), or for the
    driver in an AM container that runs (allocated), or for the launcher (RUNNING)."""
    state, queue = app.get("state"), app.get("queue")
    node = am_node(app)
    if state == "RUNNING":
        return "waiting-for-launcher", f"application RUNNING on {node}; waiting for the launcher"
    if node is not None:
        return "waiting-for-launcher", (
            f"{_am_container(app, node)}; waiting for the driver to register "
            f"({state} in queue {queue})"
        )
    diagnostics = str(app.get("diagnostics") or "").strip() or "(no diagnostics from YARN)"
    return "pending", f"{state} in queue {queue}, waiting for an AM container: {diagnostics}"


def rejected_reason(app: dict[str, Any]) -> Optional[str]:
    """YARN's reason when the RM refused the application outright, else None.

    The CapacityScheduler rejects a submission asynchronously (a queue at its
    maximum-applications, an unknown or stopped queue, an ACL): the application ends
    FAILED before any attempt, so without an AM container and with no attempt in its
    diagnostics (unlike an AM that failed).
    """
    if app.get("state") != "FAILED" or app.get("amHostHttpAddress") or app.get("amContainerLogs"):
        return None
    diagnostics = str(app.get("diagnostics") or "").strip()
    if not diagnostics or "appattempt_" in diagnostics:
        return None
    # "org.apache.hadoop.security.AccessControlException: Queue root.one already has ..."
    return _JAVA_EXCEPTION.sub("", diagnostics, count=1)


def rejected(app: dict[str, Any], kernel_id: str, reason: str) -> str:
    """The RM refused the kernel's application (HTTP 503: no room for it now)."""
    return (
        f"YARN refused kernel {kernel_id}'s application {app.get('id')} in queue "
        f"'{app.get('queue')}': {reason.rstrip('.')}. Try again when the queue has room, "
        "or use another queue (the kernelspec's yarn_queue)."
    )


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
    node = am_node(app)
    if app.get("state") != "RUNNING" and node is not None:
        return (
            f"Kernel {kernel_id}: YARN application {app['id']} had its "
            f"{_am_container(app, node)} (queue '{app.get('queue')}'), but within "
            f"{timeout:.0f} s its driver did not register (the application stayed "
            f"{app.get('state')}) and the kernel's launcher did not call back. The queue had "
            "room: the driver was slow or failing on that node. The application was killed. "
            f"Check the AM logs: {_logs(app)}; raise launch_timeout if the node is busy."
        )
    if app.get("state") != "RUNNING":
        return (
            f"Kernel {kernel_id}: YARN application {app['id']} stayed {app.get('state')} in "
            f"queue '{app.get('queue')}' for {timeout:.0f} s: the queue is full or the cluster "
            "has no capacity for its ApplicationMaster (no AM container was allocated). The "
            "application was killed. Try again "
            "later, use another queue, or raise launch_timeout. YARN diagnostics: "
            f"{app.get('diagnostics') or '(none)'}"
        )
    return (
        f"Kernel {kernel_id}: YARN application {app['id']} is RUNNING on {host} but its "
        f"launcher did not call back within {timeout:.0f} s. The application was killed. "
        f"Check that the container can reach this server at {response_address} (callback_ip) "
        f"and the AM logs: {_logs(app)}"
    )
