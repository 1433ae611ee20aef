"""What a kernel's pod asks Kubernetes for: the kernelspec's values, and a request's within limits.

A start request may change the image, namespace, service account, CPU, memory, GPUs, uid/gid
and working directory of its kernel with Enterprise Gateway's names (``KERNEL_IMAGE``,
``KERNEL_NAMESPACE``, ``KERNEL_SERVICE_ACCOUNT_NAME``, ``KERNEL_CPUS``, ``KERNEL_MEMORY``,
``KERNEL_GPUS``, ``KERNEL_CPUS_LIMIT``, ``KERNEL_MEMORY_LIMIT``, ``KERNEL_GPUS_LIMIT``,
``KERNEL_UID``, ``KERNEL_GID``, ``KERNEL_WORKING_DIR``), only within the lists and maxima the
admin allows (:class:`~.resource_settings.K8sResourceSettings`). A value beyond a limit is
refused with :class:`~jupyter_remote_kernels.errors.NotAuthorized` (HTTP 403) naming the
limit, a malformed one with :class:`~jupyter_remote_kernels.errors.InvalidRequest` (HTTP 400).
``KERNEL_VOLUMES`` / ``KERNEL_VOLUME_MOUNTS`` are refused: volumes come from the kernelspec.
``KERNEL_WORKING_DIR`` is ignored unless ``allowed_working_dirs`` lists folders (a user's
server behind a gateway sends its own folder with every start, as to Enterprise Gateway).
Every value goes into the pod object sent to the API; none reaches a shell.
"""

from __future__ import annotations

import copy
import fnmatch
import posixpath
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..errors import InvalidRequest, KernelspecError, NotAuthorized
from .resource_settings import (
    DNS_LABEL,
    DNS_SUBDOMAIN,
    IMAGE_REFERENCE,
    MAX_ID,
    dns_label,
    fill,
    parse_cpu,
    parse_memory,
    parse_range,
)

__all__ = ["REQUEST_KEYS", "PodOverrides", "pod_overrides"]

#: The request values that change a kernel's pod.
REQUEST_KEYS = (
    "KERNEL_IMAGE",
    "KERNEL_NAMESPACE",
    "KERNEL_SERVICE_ACCOUNT_NAME",
    "KERNEL_CPUS",
    "KERNEL_CPUS_LIMIT",
    "KERNEL_MEMORY",
    "KERNEL_MEMORY_LIMIT",
    "KERNEL_GPUS",
    "KERNEL_GPUS_LIMIT",
    "KERNEL_UID",
    "KERNEL_GID",
    "KERNEL_WORKING_DIR",
    "KERNEL_VOLUMES",
    "KERNEL_VOLUME_MOUNTS",
)


def _refuse(key: str, value: str, limit: str, setting: str) -> NotAuthorized:
    return NotAuthorized(
        f"{key}={value!r} is beyond what this kernelspec allows ({setting}: {limit}). "
        f"Ask for less or another value, or ask the administrator to change {setting} in "
        "the kernelspec's process_proxy.config."
    )


def _listed(key: str, value: str, current: str, allowed: list[str], setting: str) -> str:
    """A name a request may choose from ``allowed`` (shell patterns); empty: no change."""
    if not value or value == current:
        return current
    if not any(fnmatch.fnmatchcase(value, pattern) for pattern in allowed):
        only = f"only {current!r}" if current else "none (only the kernelspec's default)"
        raise _refuse(key, value, ", ".join(allowed) or only, setting)
    return value


@dataclass
class _Amount:
    """One resource: its request and limit as quantity strings, checked against ``maximum``."""

    name: str  # cpu / memory
    request: str
    limit: str
    maximum: str
    setting: str
    parse: Callable[[str], float]

    def take(self, key: str, value: str, which: str) -> None:
        value = value.strip()
        current = getattr(self, which)
        if not value or value == current:
            return
        try:
            amount = self.parse(value)
        except ValueError as exc:
            msg = f"{key}: {exc}"
            raise InvalidRequest(msg) from None
        if not self.maximum or amount > self.parse(self.maximum):
            raise _refuse(key, value, self.maximum or "no change", self.setting)
        setattr(self, which, value)

    def settle(self, limit_key: str, asked_limit: bool) -> None:
        """A request above the limit: refused when the request set that limit, else the
        limit is raised to the request (which is within the maximum)."""
        if self.request and self.limit and self.parse(self.request) > self.parse(self.limit):
            if asked_limit:
                msg = (
                    f"{limit_key}={self.limit!r} is below the {self.name} request {self.request!r}"
                )
                raise InvalidRequest(msg)
            self.limit = self.request


@dataclass
class PodOverrides:
    """What :func:`pod_overrides` decided for one kernel's pod; :meth:`apply` puts it in."""

    image: str
    image_pull_policy: str
    namespace: str
    #: The namespace comes from ``namespace_template`` and may be created (and then deleted
    #: with its last kernel) by this server.
    create_namespace: bool
    service_account: str
    automount_service_account_token: bool
    requests: dict[str, str] = field(default_factory=dict)
    limits: dict[str, str] = field(default_factory=dict)
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    volumes: list[dict[str, Any]] = field(default_factory=list)
    volume_mounts: list[dict[str, Any]] = field(default_factory=list)
    working_dir: str = ""
    pod_security: dict[str, Any] = field(default_factory=dict)
    container_security: dict[str, Any] = field(default_factory=dict)

    def apply(self, pod: dict[str, Any], container: Optional[str] = None) -> dict[str, Any]:
        """Put these values in ``pod`` (a Pod manifest as the API takes it, camelCase) and
        return it: the namespace, pod spec fields and the kernel's container (``container``
        by name, else the first). Volumes and mounts are added to the pod's own."""
        pod.setdefault("metadata", {})["namespace"] = self.namespace
        spec = pod.setdefault("spec", {})
        if self.service_account:
            spec["serviceAccountName"] = self.service_account
        spec["automountServiceAccountToken"] = self.automount_service_account_token
        if self.node_selector:
            spec["nodeSelector"] = {**spec.get("nodeSelector", {}), **self.node_selector}
        if self.tolerations:
            spec["tolerations"] = [*spec.get("tolerations", []), *copy.deepcopy(self.tolerations)]
        if self.volumes:
            spec["volumes"] = [*spec.get("volumes", []), *copy.deepcopy(self.volumes)]
        if self.pod_security:
            spec["securityContext"] = {**spec.get("securityContext", {}), **self.pod_security}
        containers = spec.get("containers") or []
        main = next((c for c in containers if c.get("name") == container), None)
        if main is None:
            if not containers:
                containers.append({"name": container or "kernel"})
                spec["containers"] = containers
            main = containers[0]
        main["image"] = self.image
        main["imagePullPolicy"] = self.image_pull_policy
        resources = {k: v for k, v in (("requests", self.requests), ("limits", self.limits)) if v}
        if resources:
            main["resources"] = copy.deepcopy(resources)
        if self.volume_mounts:
            main["volumeMounts"] = [
                *main.get("volumeMounts", []),
                *copy.deepcopy(self.volume_mounts),
            ]
        if self.working_dir:
            main["workingDir"] = self.working_dir
        if self.container_security:
            main["securityContext"] = {**main.get("securityContext", {}), **self.container_security}
        return pod


def _namespace(settings: Any, env: dict[str, str], fields: dict[str, str]) -> tuple[str, bool]:
    template = settings.k8s_namespace_template
    current = fill(template, fields) if template else settings.k8s_namespace
    allowed = [fill(a, fields) for a in settings.allowed_namespaces]
    key = "KERNEL_NAMESPACE"
    chosen = _listed(key, env.get(key, "").strip(), current, allowed, "allowed_namespaces")
    if not DNS_LABEL.match(chosen):
        msg = (
            f"namespace {chosen!r} is not a valid Kubernetes name (lowercase letters, digits "
            "and '-', at most 63): check KERNEL_NAMESPACE or the kernelspec's namespace"
        )
        raise InvalidRequest(msg) if chosen != current else KernelspecError(msg)
    made = bool(template) and chosen == current and settings.k8s_create_namespaces
    return chosen, made


def _image(settings: Any, env: dict[str, str]) -> str:
    if not settings.k8s_image:
        msg = "the kernelspec sets no image: set 'k8s_image' in its process_proxy.config"
        raise KernelspecError(msg)
    key = "KERNEL_IMAGE"
    value = env.get(key, "").strip()
    if value and value != settings.k8s_image and not IMAGE_REFERENCE.match(value):
        msg = f"{key}={value!r} is not an image reference (registry/name:tag)"
        raise InvalidRequest(msg)
    return _listed(key, value, settings.k8s_image, list(settings.allowed_images), "allowed_images")


def _service_account(settings: Any, env: dict[str, str]) -> str:
    key = "KERNEL_SERVICE_ACCOUNT_NAME"
    value = env.get(key, "").strip()
    if value and value != settings.k8s_service_account and not DNS_SUBDOMAIN.match(value):
        msg = f"{key}={value!r} is not a ServiceAccount name"
        raise InvalidRequest(msg)
    allowed = list(settings.allowed_service_accounts)
    return _listed(key, value, settings.k8s_service_account, allowed, "allowed_service_accounts")


def _gpus(settings: Any, env: dict[str, str], current: int) -> int:
    asked = {}
    for key in ("KERNEL_GPUS", "KERNEL_GPUS_LIMIT"):
        value = env.get(key, "").strip()
        if value:
            if not value.isdigit():
                msg = f"{key} must be a whole number of GPUs, not {value!r}"
                raise InvalidRequest(msg)
            asked[key] = int(value)
    if len(set(asked.values())) > 1:
        msg = "KERNEL_GPUS and KERNEL_GPUS_LIMIT differ: GPUs are asked with request = limit"
        raise InvalidRequest(msg)
    for key, gpus in asked.items():
        if gpus != current and gpus > settings.max_gpus:
            raise _refuse(key, str(gpus), str(settings.max_gpus or "no change"), "max_gpus")
        return gpus
    return current


def _resources(settings: Any, env: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """``k8s_resources``'s requests and limits, changed by the request within the maxima."""
    requests = dict(settings.k8s_resources.get("requests", {}))
    limits = dict(settings.k8s_resources.get("limits", {}))
    for name, key, setting, parse in (
        ("cpu", "KERNEL_CPUS", "max_cpus", parse_cpu),
        ("memory", "KERNEL_MEMORY", "max_memory", parse_memory),
    ):
        amount = _Amount(
            name,
            requests.pop(name, ""),
            limits.pop(name, ""),
            getattr(settings, setting),
            setting,
            parse,
        )
        amount.take(key, env.get(key, ""), "request")
        amount.take(f"{key}_LIMIT", env.get(f"{key}_LIMIT", ""), "limit")
        amount.settle(f"{key}_LIMIT", bool(env.get(f"{key}_LIMIT", "").strip()))
        if amount.request:
            requests[name] = amount.request
        if amount.limit:
            limits[name] = amount.limit
    gpu = settings.k8s_gpu_resource
    current = limits.get(gpu) or requests.get(gpu) or "0"
    gpus = _gpus(settings, env, int(current) if current.isdigit() else 0)
    requests.pop(gpu, None)
    limits.pop(gpu, None)
    if gpus:
        requests[gpu] = limits[gpu] = str(gpus)
    return requests, limits


def _id(settings: Any, env: dict[str, str], key: str, current: Optional[int], which: str):
    value = env.get(key, "").strip()
    setting = f"allowed_{which}s"
    if value:
        if not value.isdigit() or int(value) > MAX_ID:
            msg = f"{key} must be a numeric {which} (0 to {MAX_ID}), not {value!r}"
            raise InvalidRequest(msg)
        if int(value) != current:
            ranges = [parse_range(r) for r in getattr(settings, setting)]
            if not any(low <= int(value) <= high for low, high in ranges):
                only = f"only {current}" if current is not None else "none (the image's)"
                listed = ", ".join(getattr(settings, setting)) or only
                raise _refuse(key, value, listed, setting)
        current = int(value)
    if current == 0 and settings.k8s_run_as_non_root:
        raise _refuse(key, "0", "not root", "k8s_run_as_non_root")
    return current


def _security(settings: Any, env: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    pod: dict[str, Any] = {}
    uid = _id(settings, env, "KERNEL_UID", settings.k8s_run_as_user, "uid")
    gid = _id(settings, env, "KERNEL_GID", settings.k8s_run_as_group, "gid")
    if uid is not None:
        pod["runAsUser"] = uid
    if gid is not None:
        pod["runAsGroup"] = gid
    if settings.k8s_fs_group is not None:
        pod["fsGroup"] = settings.k8s_fs_group
    elif uid:
        # The launch Secret is mounted 0400 (root's): with an fsGroup the kubelet makes its
        # files group-readable for that group, which the kernel's user is then in.
        pod["fsGroup"] = gid if gid else uid
    container: dict[str, Any] = {}
    if settings.k8s_run_as_non_root:
        pod["runAsNonRoot"] = True
        container = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    return pod, container


def _working_dir(settings: Any, env: dict[str, str], fields: dict[str, str]) -> str:
    current = fill(settings.k8s_working_dir, fields)
    key = "KERNEL_WORKING_DIR"
    value = env.get(key, "").strip()
    if not value or value == current or not settings.allowed_working_dirs:
        # Not mirrored unless the admin lists folders (as EG without EG_MIRROR_WORKING_DIRS):
        # a user's server behind a gateway sends its own folder with every start.
        return current
    normal = posixpath.normpath(value)
    if not value.startswith("/") or normal != value.rstrip("/") or "\x00" in value:
        msg = f"{key} must be an absolute, normalized path in the container, not {value!r}"
        raise InvalidRequest(msg)
    allowed = [posixpath.normpath(fill(a, fields)) for a in settings.allowed_working_dirs]
    if not any(normal == a or normal.startswith(a.rstrip("/") + "/") for a in allowed):
        raise _refuse(key, value, ", ".join(allowed), "allowed_working_dirs")
    return normal


def pod_overrides(
    settings: Any, env: dict[str, str], username: str = "", kernel_id: str = ""
) -> PodOverrides:
    """What one kernel's pod gets: the kernelspec's ``settings`` (a
    :class:`~.resource_settings.K8sResourceSettings`), changed by the start request's
    ``env`` within its limits. ``username`` fills {username} (as a DNS label).

    Raises ``NotAuthorized`` (403) for a value beyond a limit, ``InvalidRequest`` (400) for a
    malformed one, ``KernelspecError`` for a kernelspec without an image.
    """
    for key in ("KERNEL_VOLUMES", "KERNEL_VOLUME_MOUNTS"):
        if env.get(key, "").strip():
            msg = (
                f"{key} is not accepted: a kernel's volumes come from its kernelspec "
                "(k8s_volumes, k8s_volume_mounts); ask the administrator for a kernelspec with them"
            )
            raise NotAuthorized(msg)
    fields = {"username": dns_label(username or "anonymous"), "kernel_id": kernel_id}
    namespace, create = _namespace(settings, env, fields)
    requests, limits = _resources(settings, env)
    pod_security, container_security = _security(settings, env)
    return PodOverrides(
        image=_image(settings, env),
        image_pull_policy=settings.k8s_image_pull_policy,
        namespace=namespace,
        create_namespace=create,
        service_account=_service_account(settings, env),
        automount_service_account_token=settings.k8s_automount_token,
        requests=requests,
        limits=limits,
        node_selector=dict(settings.k8s_node_selector),
        tolerations=list(settings.k8s_tolerations),
        volumes=fill(list(settings.k8s_volumes), fields),
        volume_mounts=fill(list(settings.k8s_volume_mounts), fields),
        working_dir=_working_dir(settings, env, fields),
        pod_security=pod_security,
        container_security=container_security,
    )
