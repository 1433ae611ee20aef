"""What a kernel's pod gets, and what a start request may change (each trait overridable per
kernelspec in ``process_proxy.config``), with the parsers of the values. Read by
:mod:`.resources`."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from traitlets import Bool, Dict, Int, List, Unicode, validate
from traitlets.config import Configurable

__all__ = [
    "DNS_LABEL",
    "DNS_SUBDOMAIN",
    "IMAGE_REFERENCE",
    "MAX_ID",
    "TEMPLATE_FIELD",
    "K8sResourceSettings",
    "check_template",
    "dns_label",
    "fill",
    "parse_cpu",
    "parse_memory",
    "parse_range",
]


_CPU = re.compile(r"^(\d+(?:\.\d+)?|\.\d+)(m?)$")
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E)?$")
_MEMORY_UNITS = {
    None: 1,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
# registry[:port]/path[:tag][@digest], as Kubernetes and the container runtimes read it.
IMAGE_REFERENCE = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*(?::\d+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)
TEMPLATE_FIELD = re.compile(r"\{([^{}]*)\}")
_FIELDS = ("username", "kernel_id")
MAX_ID = 2**31 - 1


def parse_cpu(text: str) -> float:
    """Cores in a Kubernetes CPU quantity (``1``, ``0.5``, ``500m``)."""
    match = _CPU.match(str(text).strip())
    if not match:
        msg = f"{text!r} is not a CPU quantity (cores such as 1 or 0.5, or millicores: 500m)"
        raise ValueError(msg)
    return float(match.group(1)) / (1000 if match.group(2) else 1)


def parse_memory(text: str) -> float:
    """Bytes in a Kubernetes memory quantity (``2Gi``, ``512Mi``, ``1G``, ``1048576``)."""
    match = _MEMORY.match(str(text).strip())
    if not match:
        msg = f"{text!r} is not a memory quantity (e.g. 2Gi, 512Mi, 1G)"
        raise ValueError(msg)
    return float(match.group(1)) * _MEMORY_UNITS[match.group(2)]


def parse_range(text: str) -> tuple[int, int]:
    """``(low, high)`` of a uid/gid range: ``1000`` or ``1000-59999``."""
    parts = str(text).strip().split("-")
    if len(parts) not in (1, 2) or not all(p.isdigit() for p in parts):
        msg = f"{text!r} is not an id or a range of ids (1000, 1000-59999)"
        raise ValueError(msg)
    low, high = int(parts[0]), int(parts[-1])
    if low > high:
        msg = f"{text!r}: the range's low end is above its high end"
        raise ValueError(msg)
    return low, high


def check_template(text: str) -> None:
    """Raise ValueError if ``text`` has a ``{field}`` other than {username} / {kernel_id}."""
    for name in TEMPLATE_FIELD.findall(text):
        if name not in _FIELDS:
            msg = f"{text!r}: unknown field {{{name}}} (use {{username}} or {{kernel_id}})"
            raise ValueError(msg)


def dns_label(name: str) -> str:
    """``name`` as a DNS label part: lowercase letters, digits and '-'; a name that had to
    change gets a short hash of the original, so two users never share a label."""
    safe = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if safe == name and safe:
        return safe
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{safe[:40]}-{digest}" if safe else f"u-{digest}"


def fill(value: Any, fields: dict[str, str]) -> Any:
    """``value`` with {username} / {kernel_id} filled in every string (plain replacement:
    no format-string evaluation of admin or user text)."""
    if isinstance(value, str):
        return TEMPLATE_FIELD.sub(lambda m: fields.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [fill(v, fields) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, fields) for k, v in value.items()}
    return value


class K8sResourceSettings(Configurable):
    """Namespaces per user, service account, resources, scheduling, volumes, security
    context, and the lists and maxima within which a start request's ``KERNEL_*`` values are
    honoured. A base of :class:`~.settings.K8sSettings` (which has ``k8s_image``,
    ``k8s_image_pull_policy`` and ``k8s_namespace``)."""

    # ------------------------------------------------------------------ image
    allowed_images = List(
        Unicode(),
        config=True,
        help="Images a start request may choose with KERNEL_IMAGE (names or shell patterns, "
        "e.g. 'registry.example.org/kernels/*'); empty: only the kernelspec's image.",
    )
    k8s_namespace_template = Unicode(
        "",
        config=True,
        help="One namespace per user, e.g. 'jupyter-{username}' ({username}: the kernel "
        "user's name made a DNS label). Created on demand when k8s_create_namespaces is on, and "
        "then deleted when its last kernel of this server ends. Needs a ClusterRole for "
        "namespaces (see the README).",
    )
    k8s_create_namespaces = Bool(
        True,
        config=True,
        help="Create a k8s_namespace_template's namespace that does not exist yet (labelled as "
        "ours), and delete it when its last kernel ends. Off: it must exist.",
    )
    allowed_namespaces = List(
        Unicode(),
        config=True,
        help="Namespaces a start request may choose with KERNEL_NAMESPACE ({username} "
        "allowed); they must exist. Empty: only the kernelspec's.",
    )
    k8s_service_account = Unicode(
        "",
        config=True,
        help="ServiceAccount of the kernels' pods (default: the namespace's 'default').",
    )
    allowed_service_accounts = List(
        Unicode(),
        config=True,
        help="ServiceAccounts a start request may choose with KERNEL_SERVICE_ACCOUNT_NAME; "
        "empty: only the kernelspec's.",
    )
    k8s_automount_token = Bool(
        False,
        config=True,
        help="Mount the ServiceAccount's API token in the kernel's pod (off: kernels get no "
        "API credentials; turn on for kernels that start Spark executors and the like).",
    )

    # ------------------------------------------------------------------ resources
    k8s_resources = Dict(
        config=True,
        help='The kernel container\'s resources as Kubernetes writes them, e.g. {"requests": '
        '{"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "2Gi", "nvidia.com/gpu": "1"}}. '
        "A start request may change cpu, memory and GPUs within max_cpus, max_memory, "
        "max_gpus.",
    )
    k8s_gpu_resource = Unicode(
        "nvidia.com/gpu", config=True, help="The extended resource name GPUs are asked as."
    )
    max_cpus = Unicode(
        "",
        config=True,
        help="Most CPU a request may ask for with KERNEL_CPUS / KERNEL_CPUS_LIMIT, e.g. 4; "
        "empty: the request may not change CPU.",
    )
    max_memory = Unicode(
        "",
        config=True,
        help="Most memory a request may ask for with KERNEL_MEMORY / KERNEL_MEMORY_LIMIT, "
        "e.g. 8Gi; empty: the request may not change memory.",
    )
    max_gpus = Int(
        0,
        config=True,
        help="Most GPUs a request may ask for with KERNEL_GPUS / KERNEL_GPUS_LIMIT "
        "(0: no change allowed).",
    )

    # ------------------------------------------------------------------ scheduling, volumes
    k8s_node_selector = Dict({}, config=True, help='The pods\' nodeSelector, e.g. {"gpu": "true"}.')
    k8s_tolerations = List(
        Dict(), config=True, help="The pods' tolerations (Kubernetes' own objects)."
    )
    k8s_volumes = List(
        Dict(),
        config=True,
        help="Volumes of the pods (Kubernetes' objects; {username} in their strings), e.g. "
        'a user\'s PersistentVolumeClaim: {"name": "home", "persistentVolumeClaim": '
        '{"claimName": "home-{username}"}}.',
    )
    k8s_volume_mounts = List(
        Dict(),
        config=True,
        help='volumeMounts of the kernel\'s container, e.g. {"name": "home", '
        '"mountPath": "/home/jovyan"} ({username} allowed).',
    )
    k8s_working_dir = Unicode(
        "",
        config=True,
        help="Working directory of the kernel in its container ({username} allowed; "
        "default: the image's).",
    )
    allowed_working_dirs = List(
        Unicode(),
        config=True,
        help="Folders (with what is below them) a start request may choose with "
        "KERNEL_WORKING_DIR ({username} allowed); empty: KERNEL_WORKING_DIR is ignored "
        "(a user's server behind a gateway sends its own folder).",
    )

    # ------------------------------------------------------------------ security context
    k8s_run_as_user = Int(
        None,
        allow_none=True,
        config=True,
        help="uid the kernel runs as (the pod's securityContext.runAsUser; default: the "
        "image's user).",
    )
    k8s_run_as_group = Int(
        None, allow_none=True, config=True, help="gid the kernel runs as (runAsGroup)."
    )
    k8s_fs_group = Int(
        None,
        allow_none=True,
        config=True,
        help="Group that owns the pod's volumes (fsGroup), e.g. the users' group.",
    )
    k8s_run_as_non_root = Bool(
        False,
        config=True,
        help="Refuse to run a kernel as root: the pod's runAsNonRoot, no privilege escalation, "
        "no capabilities, and KERNEL_UID/KERNEL_GID 0 refused.",
    )
    allowed_uids = List(
        Unicode(),
        config=True,
        help="uids a start request may choose with KERNEL_UID: numbers or ranges "
        "('1000-59999'); empty: only k8s_run_as_user.",
    )
    allowed_gids = List(
        Unicode(),
        config=True,
        help="gids a start request may choose with KERNEL_GID (numbers or ranges); empty: "
        "only k8s_run_as_group.",
    )

    # ------------------------------------------------------------------ validation
    @validate("max_cpus")
    def _cpu(self, proposal: Any) -> str:
        if proposal["value"]:
            parse_cpu(proposal["value"])
        return str(proposal["value"])

    @validate("max_memory")
    def _memory(self, proposal: Any) -> str:
        if proposal["value"]:
            parse_memory(proposal["value"])
        return str(proposal["value"])

    @validate("max_gpus")
    def _count(self, proposal: Any) -> int:
        if proposal["value"] < 0:
            msg = "max_gpus must be 0 or more"
            raise ValueError(msg)
        return int(proposal["value"])

    @validate("k8s_resources")
    def _resources(self, proposal: Any) -> dict[str, dict[str, str]]:
        value = proposal["value"]
        result = {}
        for key, amounts in value.items():
            if key not in ("requests", "limits") or not isinstance(amounts, dict):
                msg = (
                    "k8s_resources holds 'requests' and 'limits', each a mapping of resource "
                    f"names to amounts; got {key!r}: {amounts!r}"
                )
                raise ValueError(msg)
            result[key] = {str(n): str(a) for n, a in amounts.items()}
            for name, parse in (("cpu", parse_cpu), ("memory", parse_memory)):
                if name in result[key]:
                    parse(result[key][name])
        return result

    @validate("k8s_namespace_template", "k8s_working_dir")
    def _template(self, proposal: Any) -> str:
        check_template(proposal["value"])
        return str(proposal["value"])

    @validate("allowed_uids", "allowed_gids")
    def _ranges(self, proposal: Any) -> list[str]:
        for item in proposal["value"]:
            parse_range(item)
        return list(proposal["value"])
