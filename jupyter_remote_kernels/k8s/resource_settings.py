"""What a kernel's pod gets, and what a start request may change (each trait overridable per
kernelspec in ``process_proxy.config``). Read by :mod:`.resources`."""

from __future__ import annotations

from typing import Any

from traitlets import Bool, Dict, Int, List, Unicode, validate
from traitlets.config import Configurable

from .resources import check_template, parse_cpu, parse_memory, parse_range

__all__ = ["K8sResourceSettings"]

_PULL_POLICIES = ("Always", "IfNotPresent", "Never")


class K8sResourceSettings(Configurable):
    """Image, namespace, service account, resources, scheduling, volumes, security context,
    and the lists and maxima within which a start request's ``KERNEL_*`` values are honoured."""

    # ------------------------------------------------------------------ image
    k8s_image = Unicode(
        "",
        config=True,
        help="Image of the kernel's pod: any image with Python and ipykernel (the launcher's "
        "files are delivered to the pod). Required.",
    )
    allowed_images = List(
        Unicode(),
        config=True,
        help="Images a start request may choose with KERNEL_IMAGE (names or shell patterns, "
        "e.g. 'registry.example.org/kernels/*'); empty: only the kernelspec's image.",
    )
    k8s_image_pull_policy = Unicode(
        "IfNotPresent",
        config=True,
        help="The container's imagePullPolicy: Always, IfNotPresent or Never.",
    )
    # ------------------------------------------------------------------ namespace, account
    k8s_namespace = Unicode(
        "default",
        config=True,
        help="Namespace of the kernel pods and their Secrets (unless k8s_namespace_template).",
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
        "KERNEL_WORKING_DIR ({username} allowed); empty: only the kernelspec's.",
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
        "only run_as_group.",
    )

    # ------------------------------------------------------------------ validation
    @validate("k8s_image_pull_policy")
    def _pull_policy(self, proposal: Any) -> str:
        if proposal["value"] not in _PULL_POLICIES:
            msg = f"k8s_image_pull_policy must be one of {', '.join(_PULL_POLICIES)}"
            raise ValueError(msg)
        return str(proposal["value"])

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
