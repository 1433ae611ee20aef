"""The provisioner's side of resources, limits and namespaces (a mixin of
:class:`~.provisioner.K8sProvisioner`).

Before anything is made (``pre_launch``), the start request is checked against the admin's
lists and maxima and what the pod gets is decided (:func:`~.resources.pod_overrides`): a
refused request is an HTTP 403 / 400 naming the limit. The decision then gives the launch its
namespace, is applied to the pod's manifest, and a per-user namespace is made on demand and,
when the kernel is gone for good, deleted if it was its last (:mod:`.namespaces`). An EG / GP
kernelspec's argv is turned into this backend's (:mod:`.translate`).
"""

from __future__ import annotations

from typing import Any, Optional

from .errors import K8sError
from .namespaces import namespaces_of
from .pod import CONTAINER, POD_IP_ENV
from .resources import PodOverrides, pod_overrides
from .translate import eg_argv

__all__ = ["PodOverridesMixin"]

#: The provisioner record's flag: the kernel's namespace was made by this package.
_RECORD = "k8s_namespace_ours"


class PodOverridesMixin:
    """Decides and applies what a kernel's pod gets; keeps per-user namespaces."""

    _overrides: Optional[PodOverrides] = None
    _namespace_ours = False

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """Refuse a request beyond the admin's limits before anything is made."""
        env = kwargs.get("env") or {}
        user = str(env.get("KERNEL_USERNAME") or "")
        self._overrides = pod_overrides(self, env, user, str(self.kernel_id))
        return await super().pre_launch(**kwargs)

    def chosen_namespace(self) -> str:
        """The namespace of this launch's pod (the kernelspec's, the user's, the request's)."""
        return self._overrides.namespace if self._overrides else self.k8s_namespace

    def apply_overrides(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """``manifest`` (the kernel's pod) with image, resources, scheduling, volumes and
        security context as decided."""
        if self._overrides is not None:
            self._overrides.apply(manifest, container=CONTAINER)
        return manifest

    def pod_command(self, cmd: list[str]) -> list[str]:
        """The launch's argv as the pod runs it (an EG / GP argv becomes ours)."""
        return eg_argv(cmd, self.launcher_location(), self.k8s_python,
                       extra=["--ip", f"$({POD_IP_ENV})"])  # fmt: skip

    async def acquire_namespace(self, namespace: str) -> None:
        """Make the kernel's per-user namespace if it does not exist yet."""
        if self._overrides is not None and self._overrides.create_namespace:
            self._namespace_ours = True
            keeper = namespaces_of(self.services, self.cluster_client(), self.log)
            await keeper.acquire(namespace, str(self.kernel_id))

    async def release(self, restart: bool) -> None:
        """The pod and Secret are gone; the namespace too if this package made it and this
        was its last kernel (not on restart: the next pod goes there)."""
        await super().release(restart)
        if not restart and self._namespace_ours and self.namespace:
            self._namespace_ours = False
            keeper = namespaces_of(self.services, self.cluster_client(), self.log)
            try:
                await keeper.release(self.namespace, str(self.kernel_id))
            except K8sError as exc:
                self.log.warning("%s", exc)

    async def get_provisioner_info(self) -> dict[str, Any]:
        info = await super().get_provisioner_info()
        info[_RECORD] = self._namespace_ours
        return info

    async def load_provisioner_info(self, provisioner_info: dict) -> None:
        """After a server restart: a reattached kernel in a namespace of ours still counts."""
        self._namespace_ours = bool(provisioner_info.get(_RECORD))
        await super().load_provisioner_info(provisioner_info)
        if self._namespace_ours and self.namespace:
            keeper = namespaces_of(self.services, self.cluster_client(), self.log)
            keeper.count(self.namespace, str(self.kernel_id))
