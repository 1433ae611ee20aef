"""``jupyter remote-kernels install k8s``: the fields of the Kubernetes template.

    jupyter remote-kernels install k8s --image IMG [--namespace NS | --namespace-template T]
        [--cpu 1 --memory 2Gi --gpus 1] [--service-account SA] [--kubeconfig FILE]
        [--python python3] [--kernel-argv '[...]' --language L | --from-kernelspec NAME]

With ``--kernel-argv`` or ``--from-kernelspec`` the image needs the kernel's command as well
as Python (the launcher's); the default display name then names the kernel, e.g.
"R (Kubernetes, default)".

Every value is checked before anything is written.
"""

from __future__ import annotations

from typing import Any

from traitlets import Int, Unicode

from ..backends import BackendError, InstallOptions
from .resource_settings import (
    DNS_LABEL,
    DNS_SUBDOMAIN,
    IMAGE_REFERENCE,
    check_template,
    parse_cpu,
    parse_memory,
)

__all__ = ["K8sInstallOptions"]


class K8sInstallOptions(InstallOptions):
    """``install k8s`` options: the image, the namespace, what each kernel gets."""

    image = Unicode(
        "", config=True, help="k8s: the kernels' image (any image with Python and ipykernel)."
    )
    namespace = Unicode("", config=True, help="k8s: the namespace of the kernels' pods.")
    namespace_template = Unicode(
        "", config=True, help="k8s: one namespace per user, e.g. jupyter-{username}."
    )
    cpu = Unicode("", config=True, help="k8s: CPU of each kernel (request = limit), e.g. 1.")
    memory = Unicode(
        "", config=True, help="k8s: memory of each kernel (request = limit), e.g. 2Gi."
    )
    gpus = Int(0, config=True, help="k8s: GPUs of each kernel (nvidia.com/gpu).")
    service_account = Unicode("", config=True, help="k8s: the kernels' ServiceAccount.")
    kubeconfig = Unicode(
        "", config=True, help="k8s: kubeconfig of the cluster (default: $KUBECONFIG, ~/.kube)."
    )

    def _resources(self) -> dict[str, dict[str, str]]:
        requests: dict[str, str] = {}
        for name, value, parse in (
            ("cpu", self.cpu, parse_cpu),
            ("memory", self.memory, parse_memory),
        ):
            if value.strip():
                try:
                    parse(value.strip())
                except ValueError as exc:
                    msg = f"--{name}: {exc}"
                    raise BackendError(msg) from None
                requests[name] = value.strip()
        if self.gpus < 0:
            msg = f"--gpus takes a whole number, 0 or more, not {self.gpus}"
            raise BackendError(msg)
        if self.gpus:
            requests["nvidia.com/gpu"] = str(self.gpus)
        return {"requests": dict(requests), "limits": dict(requests)} if requests else {}

    def fields(self, app: Any) -> dict[str, Any]:
        """The ``@@FIELD@@`` values of the Kubernetes template; ``app``: the common options."""
        image = self.image.strip()
        if not image:
            msg = "install k8s needs --image, an image with Python and ipykernel"
            raise BackendError(msg)
        if not IMAGE_REFERENCE.match(image):
            msg = f"--image {image!r} is not an image reference (registry/name:tag)"
            raise BackendError(msg)
        namespace, template = self.namespace.strip(), self.namespace_template.strip()
        if namespace and template:
            msg = "give --namespace or --namespace-template, not both"
            raise BackendError(msg)
        if namespace and not DNS_LABEL.match(namespace):
            msg = f"--namespace {namespace!r} is not a Kubernetes namespace name"
            raise BackendError(msg)
        if template:
            try:
                check_template(template)
            except ValueError as exc:
                msg = f"--namespace-template: {exc}"
                raise BackendError(msg) from None
        account = self.service_account.strip()
        if account and not DNS_SUBDOMAIN.match(account):
            msg = f"--service-account {account!r} is not a ServiceAccount name"
            raise BackendError(msg)
        where = template or namespace or "default"
        return {
            "IMAGE": image,
            "NAMESPACE": namespace or "default",
            "NAMESPACE_TEMPLATE": template,
            "RESOURCES": self._resources(),
            "SERVICE_ACCOUNT": account,
            "KUBECONFIG": self.kubeconfig.strip(),
            "PYTHON": app.python,
            "DISPLAY_NAME": app.display_name or f"{app.kernel_label} (Kubernetes, {where})",
        }
