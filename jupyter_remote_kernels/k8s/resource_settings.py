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
    image = Unicode(
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
    image_pull_policy = Unicode(
        "IfNotPresent",
        config=True,
        help="The container's imagePullPolicy: Always, IfNotPresent or Never.",
    )
    python = Unicode(
        "python3",
        config=True,
        help="The image's Python that runs the launcher (a name on the image's PATH, or a "
        "path in the image).",
    )

    # ------------------------------------------------------------------ namespace, account
    namespace = Unicode(
        "default", config=True, help="Namespace of the kernels' pods (unless namespace_template)."
    )
    namespace_template = Unicode(
        "",
        config=True,
        help="One namespace per user, e.g. 'jupyter-{username}' ({username}: the kernel "
        "user's name made a DNS label). Created on demand when create_namespaces is on, and "
        "then deleted when its last kernel of this server ends. Needs a ClusterRole for "
        "namespaces (see the README).",
    )
    create_namespaces = Bool(
        True,
        config=True,
        help="Create a namespace_template's namespace that does not exist yet (labelled as "
        "ours), and delete it when its last kernel ends. Off: it must exist.",
    )
    allowed_namespaces = List(
        Unicode(),
        config=True,
        help="Namespaces a start request may choose with KERNEL_NAMESPACE ({username} "
        "allowed); they must exist. Empty: only the kernelspec's.",
    )
    service_account = Unicode(
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
    automount_service_account_token = Bool(
        False,
        config=True,
        help="Mount the ServiceAccount's API token in the kernel's pod (off: kernels get no "
        "API credentials; turn on for kernels that start Spark executors and the like).",
    )

    # ------------------------------------------------------------------ resources
    cpu_request = Unicode("", config=True, help="CPU request of the kernel's container, e.g. 1.")
    cpu_limit = Unicode("", config=True, help="CPU limit of the kernel's container, e.g. 2.")
    memory_request = Unicode(
        "", config=True, help="Memory request of the kernel's container, e.g. 2Gi."
    )
    memory_limit = Unicode(
        "",
        config=True,
        help="Memory limit of the kernel's container, e.g. 2Gi (beyond it the kernel is "
        "OOMKilled).",
    )
    gpus = Int(0, config=True, help="GPUs of the kernel's container (request = limit).")
    gpu_resource = Unicode(
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
    node_selector = Dict({}, config=True, help='The pods\' nodeSelector, e.g. {"gpu": "true"}.')
    tolerations = List(Dict(), config=True, help="The pods' tolerations (Kubernetes' own objects).")
    volumes = List(
        Dict(),
        config=True,
        help="Volumes of the pods (Kubernetes' objects; {username} in their strings), e.g. "
        'a user\'s PersistentVolumeClaim: {"name": "home", "persistentVolumeClaim": '
        '{"claimName": "home-{username}"}}.',
    )
    volume_mounts = List(
        Dict(),
        config=True,
        help='volumeMounts of the kernel\'s container, e.g. {"name": "home", '
        '"mountPath": "/home/jovyan"} ({username} allowed).',
    )
    working_dir = Unicode(
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
    run_as_user = Int(
        None,
        allow_none=True,
        config=True,
        help="uid the kernel runs as (the pod's securityContext.runAsUser; default: the "
        "image's user).",
    )
    run_as_group = Int(
        None, allow_none=True, config=True, help="gid the kernel runs as (runAsGroup)."
    )
    fs_group = Int(
        None,
        allow_none=True,
        config=True,
        help="Group that owns the pod's volumes (fsGroup), e.g. the users' group.",
    )
    run_as_non_root = Bool(
        False,
        config=True,
        help="Refuse to run a kernel as root: the pod's runAsNonRoot, no privilege escalation, "
        "no capabilities, and KERNEL_UID/KERNEL_GID 0 refused.",
    )
    allowed_uids = List(
        Unicode(),
        config=True,
        help="uids a start request may choose with KERNEL_UID: numbers or ranges "
        "('1000-59999'); empty: only run_as_user.",
    )
    allowed_gids = List(
        Unicode(),
        config=True,
        help="gids a start request may choose with KERNEL_GID (numbers or ranges); empty: "
        "only run_as_group.",
    )

    # ------------------------------------------------------------------ validation
    @validate("image_pull_policy")
    def _pull_policy(self, proposal: Any) -> str:
        if proposal["value"] not in _PULL_POLICIES:
            msg = f"image_pull_policy must be one of {', '.join(_PULL_POLICIES)}"
            raise ValueError(msg)
        return str(proposal["value"])

    @validate("cpu_request", "cpu_limit", "max_cpus")
    def _cpu(self, proposal: Any) -> str:
        if proposal["value"]:
            parse_cpu(proposal["value"])
        return str(proposal["value"])

    @validate("memory_request", "memory_limit", "max_memory")
    def _memory(self, proposal: Any) -> str:
        if proposal["value"]:
            parse_memory(proposal["value"])
        return str(proposal["value"])

    @validate("gpus", "max_gpus")
    def _count(self, proposal: Any) -> int:
        if proposal["value"] < 0:
            msg = f"{proposal['trait'].name} must be 0 or more"
            raise ValueError(msg)
        return int(proposal["value"])

    @validate("namespace_template", "working_dir")
    def _template(self, proposal: Any) -> str:
        check_template(proposal["value"])
        return str(proposal["value"])

    @validate("allowed_uids", "allowed_gids")
    def _ranges(self, proposal: Any) -> list[str]:
        for item in proposal["value"]:
            parse_range(item)
        return list(proposal["value"])
