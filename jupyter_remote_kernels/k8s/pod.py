"""A kernel's pod and Secret as manifests, and a pod as the watch sees it.

The pod runs the kernelspec's argv in any image with Python and ipykernel. Its Secret (mounted
read-only, mode 0400) holds the launcher's files and the launch bundle; the container's first
process is a short stage 0 (in the pod's args: no secret in it) that puts the bundle file on
the launcher's standard input and execs the launcher. Nothing secret is in the pod spec (env,
args) or in any argv on the node.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Optional

__all__ = [
    "BUNDLE_FILE",
    "CONTAINER",
    "KERNEL_LABEL",
    "MANAGED_BY",
    "POD_IP_ENV",
    "SERVER_LABEL",
    "PodState",
    "pod_manifest",
    "secret_manifest",
    "stage0_command",
]

#: Labels of every pod and Secret this package makes.
MANAGED_BY = ("app.kubernetes.io/managed-by", "jupyter-remote-kernels")
KERNEL_LABEL = "jupyter-remote-kernels/kernel-id"
SERVER_LABEL = "jupyter-remote-kernels/server"
#: The kernel container's name, the Secret volume's name and the bundle's file in it.
CONTAINER = "kernel"
VOLUME = "jrk-launch"
BUNDLE_FILE = "launch-bundle"
#: The pod's IP (downward API), for the launcher's ``--ip $(JRK_POD_IP)``.
POD_IP_ENV = "JRK_POD_IP"

#: Stage 0: the bundle file becomes standard input, then the launcher's argv runs as PID 1.
_STAGE0 = (
    "import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.dup2(fd, 0); os.close(fd); "
    "os.execvp(sys.argv[2], sys.argv[2:])"
)


def stage0_command(argv: list[str], mount_path: str) -> list[str]:
    """The container's command: ``argv[0] -c STAGE0 BUNDLE_PATH argv...``."""
    return [argv[0], "-c", _STAGE0, f"{mount_path.rstrip('/')}/{BUNDLE_FILE}", *argv]


def labels(kernel_id: str, server_id: str) -> dict[str, str]:
    return {MANAGED_BY[0]: MANAGED_BY[1], KERNEL_LABEL: kernel_id, SERVER_LABEL: server_id}


def secret_manifest(
    name: str, namespace: str, kernel_id: str, server_id: str, files: dict[str, bytes]
) -> dict[str, Any]:
    """The kernel's Secret: ``files`` (the launcher's, the bundle) by file name."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels(kernel_id, server_id),
        },
        "data": {key: base64.b64encode(value).decode() for key, value in files.items()},
    }


def pod_manifest(
    *,
    name: str,
    namespace: str,
    kernel_id: str,
    server_id: str,
    image: str,
    pull_policy: str,
    argv: list[str],
    mount_path: str,
    grace_period: int,
    resources: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """The kernel's pod (its Secret is named as the pod). Later additions (resources, node
    selectors, volumes, a security context) change this dict before it is created."""
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": pull_policy,
        "command": stage0_command(argv, mount_path),
        "env": [
            {"name": POD_IP_ENV, "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        ],
        "volumeMounts": [{"name": VOLUME, "mountPath": mount_path, "readOnly": True}],
    }
    if resources:
        container["resources"] = resources
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels(kernel_id, server_id),
        },
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": grace_period,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "containers": [container],
            "volumes": [
                {"name": VOLUME, "secret": {"secretName": name, "defaultMode": 0o400}}
            ],
        },
    }


def _condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), {})


@dataclass(frozen=True)
class PodState:
    """What the watch last saw of one kernel pod (from the API's JSON)."""

    name: str
    uid: str
    kernel_id: str
    resource_version: str
    phase: str  # Pending, Running, Succeeded, Failed, Unknown
    node: str = ""
    pod_ip: str = ""
    image: str = ""
    reason: str = ""  # the pod's own (Evicted, DeadlineExceeded, ...)
    message: str = ""
    unschedulable: str = ""  # the scheduler's message while PodScheduled is False
    waiting: str = ""  # the container's waiting reason (ContainerCreating, ErrImagePull...)
    waiting_message: str = ""
    running: bool = False
    terminated: str = ""  # the container's terminated reason (Completed, Error, OOMKilled)
    exit_code: Optional[int] = None
    terminated_message: str = ""
    deleting: bool = False  # deletionTimestamp set
    deleted: bool = False  # the watch saw it deleted

    @classmethod
    def from_json(cls, pod: dict[str, Any], deleted: bool = False) -> PodState:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        status = pod.get("status") or {}
        containers = spec.get("containers") or [{}]
        scheduled = _condition(status, "PodScheduled")
        found = [c for c in status.get("containerStatuses") or [] if c.get("name") == CONTAINER]
        state = (found[0].get("state") or {}) if found else {}
        if found and not state.get("terminated") and (found[0].get("lastState") or {}).get(
            "terminated"
        ):
            state = found[0]["lastState"]
        waiting, terminated = state.get("waiting") or {}, state.get("terminated") or {}
        code = terminated.get("exitCode")
        return cls(
            name=str(meta.get("name") or ""),
            uid=str(meta.get("uid") or ""),
            kernel_id=str((meta.get("labels") or {}).get(KERNEL_LABEL) or ""),
            resource_version=str(meta.get("resourceVersion") or ""),
            phase=str(status.get("phase") or "Pending"),
            node=str(spec.get("nodeName") or ""),
            pod_ip=str(status.get("podIP") or ""),
            image=str(containers[0].get("image") or ""),
            reason=str(status.get("reason") or ""),
            message=str(status.get("message") or ""),
            unschedulable=str(scheduled.get("message") or "")
            if scheduled.get("status") == "False"
            else "",
            waiting=str(waiting.get("reason") or ""),
            waiting_message=str(waiting.get("message") or ""),
            running="running" in state,
            terminated=str(terminated.get("reason") or ""),
            exit_code=int(code) if code is not None else None,
            terminated_message=str(terminated.get("message") or "").strip()[-500:],
            deleting=bool(meta.get("deletionTimestamp")),
            deleted=deleted,
        )

    @property
    def ended(self) -> bool:
        """Nothing of the pod runs any more (or will: it is gone or going)."""
        return self.deleted or self.phase in ("Succeeded", "Failed") or bool(self.terminated)

    @property
    def state(self) -> str:
        """The placement's raw state: the pod's phase and the container's reason."""
        why = self.reason or self.terminated or self.waiting
        if self.deleted:
            return "Deleted"
        return f"{self.phase} ({why})" if why else self.phase
