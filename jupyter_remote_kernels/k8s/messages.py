"""What the Kubernetes provisioner says when a kernel's pod fails, waits or dies."""

from __future__ import annotations

from typing import Optional

from .pod import PodState

__all__ = [
    "IMAGE_ERRORS",
    "START_ERRORS",
    "died",
    "ended_before_ready",
    "image_failed",
    "start_failed",
    "timed_out",
    "waiting_detail",
]

#: Container waiting reasons that mean the image will not be there (raised at once).
IMAGE_ERRORS = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName",
     "ImageInspectError", "RegistryUnavailable"}
)  # fmt: skip
#: Container waiting reasons that mean the container will not start as specified.
START_ERRORS = frozenset(
    {"CreateContainerConfigError", "CreateContainerError", "RunContainerError",
     "CrashLoopBackOff"}
)  # fmt: skip


def _pod(pod: PodState, namespace: str) -> str:
    return f"pod {pod.name} (namespace {namespace}" + (f", node {pod.node})" if pod.node else ")")


def end_words(pod: PodState) -> str:
    """Why a pod ended, in Kubernetes' words."""
    if pod.reason:  # Evicted, DeadlineExceeded, NodeLost ...
        return f"{pod.reason}: {pod.message}".rstrip(": ")
    if pod.deleted or pod.deleting:
        return "the pod was deleted (not by this server)"
    if pod.terminated:
        code = f", exit code {pod.exit_code}" if pod.exit_code is not None else ""
        words = {
            "OOMKilled": "OOMKilled (its memory limit was exceeded)",
        }.get(pod.terminated, pod.terminated)
        said = f": {pod.terminated_message}" if pod.terminated_message else ""
        return f"{words}{code}{said}"
    return f"phase {pod.phase}"


def image_failed(pod: PodState, namespace: str, kernel_id: str) -> str:
    return (
        f"Kernel {kernel_id}: the image {pod.image!r} of its {_pod(pod, namespace)} cannot be "
        f"used: {pod.waiting}: {pod.waiting_message or 'no message'}. Check k8s_image (and "
        "k8s_image_pull_policy) in the kernelspec's process_proxy.config, the registry and "
        "its pull secrets. The pod was deleted."
    )


def start_failed(pod: PodState, namespace: str, kernel_id: str) -> str:
    return (
        f"Kernel {kernel_id}: the container of its {_pod(pod, namespace)} cannot start: "
        f"{pod.waiting}: {pod.waiting_message or 'no message'}. The pod was deleted."
    )


def ended_before_ready(pod: PodState, namespace: str, kernel_id: str) -> str:
    return (
        f"Kernel {kernel_id}: its {_pod(pod, namespace)} ended before the kernel was ready "
        f"({end_words(pod)}). Check that the image {pod.image!r} has Python 3 with ipykernel "
        "(argv[0] of the kernelspec) and reaches this server's response address."
    )


def died(pod: Optional[PodState], pod_name: str, namespace: str, kernel_id: str) -> str:
    if pod is None:
        return (
            f"Kernel {kernel_id} died: its pod {pod_name} (namespace {namespace}) is no longer "
            "known to Kubernetes."
        )
    return f"Kernel {kernel_id} died: its {_pod(pod, namespace)} ended: {end_words(pod)}."


def waiting_detail(pod: PodState) -> str:
    """The detail of a scheduled pod whose kernel has not called back yet."""
    if pod.running:
        return f"pod {pod.name} running on {pod.node}"
    if pod.waiting == "ContainerCreating":
        return f"pod {pod.name} on {pod.node}: pulling image {pod.image} / creating the container"
    return f"pod {pod.name} on {pod.node}: {pod.waiting or pod.phase}"


def timed_out(
    pod: Optional[PodState], *, kernel_id: str, namespace: str, timeout: float,
    watch_error: Optional[str], response_address: str,
) -> str:  # fmt: skip
    head = f"Kernel {kernel_id} was not ready within {timeout:.0f} s"
    if pod is None:
        return head + f"; Kubernetes did not show its pod ({watch_error or 'no answer yet'})."
    if not pod.node:
        why = pod.unschedulable or "waiting for the scheduler"
        return head + (
            f": its pod {pod.name} was still pending in namespace {namespace} ({why}). The pod "
            "was deleted. Ask for fewer resources, or try again when the cluster has room, or "
            "raise launch_timeout."
        )
    if not pod.running:
        return head + (
            f": its {_pod(pod, namespace)} did not start its container "
            f"({pod.waiting or pod.phase}: {pod.waiting_message or 'no message'}). The pod was "
            "deleted."
        )
    return head + (
        f": its {_pod(pod, namespace)} runs but its launcher did not call back to "
        f"{response_address}. The pod was deleted. Check that pods reach this server "
        "(callback_ip) and that the image has Python 3 with ipykernel."
    )
