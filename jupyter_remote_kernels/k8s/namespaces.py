"""Per-user namespaces (``k8s_namespace_template``): made on demand, deleted with their last kernel.

A namespace this package makes carries the labels ``app.kubernetes.io/managed-by:
jupyter-remote-kernels`` and ``jupyter-remote-kernels/created: "true"``; only such a namespace
is ever deleted, and only when no kernel of this server is starting or running in it and the
API lists no pod of this package in it (a kernel of another server, or one reattached after a
restart, keeps it). Starts and ends in one namespace are serialized by a lock, so a start
never races the namespace's deletion. One :class:`Namespaces` per cluster client is a service
of the server (:func:`namespaces_of`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .client import K8sClient
from .errors import K8sError
from .pod import MANAGED_BY

__all__ = ["CREATED_LABEL", "Namespaces", "namespaces_of"]

#: The label of a namespace this package made (and may delete).
CREATED_LABEL = "jupyter-remote-kernels/created"


class Namespaces:
    """The namespaces of one cluster this server's kernels use, and which it made."""

    def __init__(self, k8s: K8sClient, log: Any, timeout: float = 60.0) -> None:
        self.k8s = k8s
        self.log = log
        self.timeout = timeout
        self._kernels: dict[str, set[str]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, namespace: str) -> asyncio.Lock:
        return self._locks.setdefault(namespace, asyncio.Lock())

    async def _read(self, namespace: str) -> Any:
        return await self.k8s.call(
            f"read namespace {namespace}", "read_namespace", namespace, missing_ok=True
        )

    async def _gone(self, namespace: str, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while await self._read(namespace) is not None:
            if time.monotonic() > deadline:
                msg = (
                    f"namespace {namespace} is still terminating after {self.timeout:g} s "
                    f"({what}); look at what is left in it with kubectl get all -n {namespace}"
                )
                raise K8sError(msg)
            await asyncio.sleep(0.5)

    async def acquire(self, namespace: str, kernel_id: str) -> bool:
        """Make ``namespace`` if it does not exist (waiting out one still terminating) and
        count ``kernel_id`` in it; True if this call made it."""
        async with self._lock(namespace):
            self._kernels.setdefault(namespace, set()).add(kernel_id)
            try:
                found = await self._read(namespace)
                if found is not None and found.status.phase == "Terminating":
                    await self._gone(namespace, "before a new kernel could start in it")
                    found = None
                if found is not None:
                    return False
                body = {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {
                        "name": namespace,
                        "labels": {MANAGED_BY[0]: MANAGED_BY[1], CREATED_LABEL: "true"},
                    },
                }
                await self.k8s.call(f"create namespace {namespace}", "create_namespace", body)
            except BaseException:
                self._kernels[namespace].discard(kernel_id)
                raise
            self.log.info("Created namespace %s for kernel %s", namespace, kernel_id)
            return True

    def count(self, namespace: str, kernel_id: str) -> None:
        """Count ``kernel_id`` in ``namespace`` (a kernel reattached after a restart)."""
        self._kernels.setdefault(namespace, set()).add(kernel_id)

    async def release(self, namespace: str, kernel_id: str) -> bool:
        """``kernel_id`` is gone (its pod deleted): delete ``namespace`` if this package made
        it and nothing of it is left there; True if it was deleted (and is gone)."""
        async with self._lock(namespace):
            kernels = self._kernels.get(namespace, set())
            kernels.discard(kernel_id)
            if kernels:
                return False
            self._kernels.pop(namespace, None)
            found = await self._read(namespace)
            labels = (found.metadata.labels or {}) if found is not None else {}
            if labels.get(CREATED_LABEL) != "true" or found.status.phase == "Terminating":
                return False
            pods = await self.k8s.call(
                f"list pods in {namespace}",
                "list_namespaced_pod",
                namespace,
                label_selector=f"{MANAGED_BY[0]}={MANAGED_BY[1]}",
            )
            if any(not p.metadata.deletion_timestamp for p in pods.items):
                return False
            await self.k8s.call(
                f"delete namespace {namespace}", "delete_namespace", namespace, missing_ok=True
            )
            await self._gone(namespace, f"its last kernel {kernel_id} ended")
            self.log.info("Deleted namespace %s: its last kernel ended", namespace)
            return True

    async def close(self) -> None:
        """Nothing to stop: namespaces go with their last kernel's release."""
        self._kernels.clear()


def namespaces_of(services: Any, k8s: K8sClient, log: Any) -> Namespaces:
    """The server's :class:`Namespaces` of the cluster ``k8s`` talks to."""
    return services.get(f"k8s namespaces {k8s.key}", lambda: Namespaces(k8s, log))
