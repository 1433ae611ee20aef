"""What the Slurm provisioner says when a kernel's job fails, waits or dies."""

from __future__ import annotations

from typing import Optional

from .poller import Job

__all__ = ["died", "ended_before_ready", "submit_failed", "timed_out"]

#: Job states in words, for messages.
_STATES = {
    "TIMEOUT": "hit its time limit",
    "NODE_FAIL": "lost its node (node failure)",
    "PREEMPTED": "was preempted",
    "CANCELLED": "was cancelled",
    "FAILED": "failed",
    "OUT_OF_MEMORY": "ran out of memory",
    "BOOT_FAIL": "could not boot its node",
    "DEADLINE": "missed its deadline",
    "COMPLETED": "ended",
}


def state_words(job: Job) -> str:
    """A job's end state in words, with Slurm's state name."""
    words = _STATES.get(job.state, "ended")
    return f"{words} (Slurm state {job.state}" + (
        f", reason {job.reason})" if job.reason and job.reason != "None" else ")"
    )


def submit_failed(kernel_id: str, partition: str, output: str) -> str:
    """sbatch refused the job."""
    where = f" to partition {partition}" if partition else ""
    return (
        f"Slurm refused the job of kernel {kernel_id}{where}: {output.strip().rstrip('.')}. "
        "Check the kernelspec's slurm_* settings (partition, account, QOS, time limit, extra "
        "options) with `jupyter remote-kernels check NAME`."
    )


#: What to do when a job ended before its kernel was ready, by Slurm's state; a state not
#: named here means the launcher or the kernel itself failed on the node.
_BEFORE_READY_ADVICE = {
    "CANCELLED": "Someone (scancel, an admin, a Slurm policy) cancelled it; start the kernel "
    "again, or ask the cluster's admins why its jobs are cancelled.",
    "NODE_FAIL": "Its node failed; start the kernel again (Slurm places it on another node).",
    "BOOT_FAIL": "Its node could not boot; start the kernel again, or ask the cluster's admins.",
    "PREEMPTED": "A job of higher priority took its node; start the kernel again, or use a "
    "partition or QOS without preemption.",
    "TIMEOUT": "Its time limit ran out before the kernel started; raise slurm_time.",
    "DEADLINE": "It could not start before its deadline; drop --deadline from the kernelspec.",
    "OUT_OF_MEMORY": "It ran out of memory while starting; raise slurm_memory.",
}
_LAUNCH_ADVICE = (
    "Check that the kernelspec's command runs on the compute nodes (its Python has ipykernel, "
    "or the kernel's own command is installed there); set slurm_output to a file on a shared "
    "file system to see the job's output."
)


def ended_before_ready(job: Job, kernel_id: str, detail: str) -> str:
    """The job ended before the launcher called back; what to do depends on how it ended."""
    node = f" on {job.nodes}" if job.nodes else ""
    advice = _BEFORE_READY_ADVICE.get(job.state, _LAUNCH_ADVICE)
    return (
        f"Slurm job {job.id} of kernel {kernel_id} (partition {job.partition}){node} "
        f"{state_words(job)} before the kernel was ready.{detail} {advice}"
    )


def died(job: Optional[Job], job_id: str, kernel_id: str, node: Optional[str]) -> str:
    """A job that ended under a ready kernel (time limit, preemption, node lost, scancel)."""
    what = state_words(job) if job is not None else "is no longer known to Slurm"
    return f"Kernel {kernel_id} died: its Slurm job {job_id} on {node or '?'} {what}."


def timed_out(
    job: Optional[Job],
    *,
    kernel_id: str,
    timeout: float,
    partition: str,
    slurm_error: Optional[str],
    response_address: str,
) -> str:
    """The launch ran out of time; say where the job was."""
    head = f"Kernel {kernel_id} was not ready within {timeout:.0f} s"
    if job is None:
        why = f"; Slurm did not show its job ({slurm_error or 'no answer yet'})."
    elif job.state == "PENDING":
        why = (
            f": its Slurm job {job.id} was still pending in partition {job.partition} "
            f"(reason: {job.reason}). The job was cancelled. Try another partition, or again "
            "when the cluster is less busy, or raise launch_timeout."
        )
    else:
        why = (
            f": its Slurm job {job.id} is {job.state} on {job.nodes or '?'} in partition "
            f"{job.partition or partition} but its launcher did not call back to "
            f"{response_address}. The job was cancelled. Check that the compute nodes reach "
            "this server (callback_ip) and have Python with ipykernel."
        )
    return head + why
