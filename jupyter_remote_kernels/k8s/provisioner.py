"""The Kubernetes provisioner: each kernel is a pod running the launcher in any image that
has Python and ipykernel.

The pod's Secret carries the launcher's files and the launch bundle (mounted read-only, mode
0400; see :mod:`.pod`); the Secret is made first, then the pod, then the Secret gets the pod
as its owner, so Kubernetes deletes it with the pod whatever happens to this server. Pods and
Secrets are labelled with the kernel id and this server's identity; the server's one watch
per (cluster, namespace) (:mod:`.watch`) follows them all. Stopping asks the launcher first,
then deletes pod (short grace) and Secret and waits until the API says they are gone.

Launch phases: ``submitting`` (the API creates the pod) -> ``pending`` (the scheduler's own
message, e.g. ``0/1 nodes are available: 1 Insufficient cpu.``) -> ``waiting-for-launcher``
(image pulled / container created / running on its node) -> ``ready``. An image that cannot
be pulled fails at once, naming the image.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import socket
import sys
from typing import Any, Optional

from jupyter_core.paths import jupyter_runtime_dir

from ..errors import LaunchError
from ..launch import protocol
from ..paths import launcher_files
from ..provisioning import ClusterJobProvisioner
from . import messages
from .client import K8sClient
from .errors import K8sError
from .overrides import PodOverridesMixin
from .pod import (
    BUNDLE_FILE,
    KERNEL_LABEL,
    MANAGED_BY,
    POD_IP_ENV,
    SERVER_LABEL,
    PodState,
    secret_manifest,
)
from .pod import pod_manifest as make_pod_manifest
from .settings import K8sSettings
from .watch import PodWatch, watches_of

__all__ = ["K8sProvisioner"]


class K8sProvisioner(PodOverridesMixin, K8sSettings, ClusterJobProvisioner):  # type:ignore[misc]
    """Runs the kernel's launcher in a pod and follows it with the server's shared watch."""

    kind = "k8s"
    cluster_name = "Kubernetes"
    record_key = "k8s"
    record_job_id = "pod"
    record_past_jobs = "past_pods"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poller: Optional[PodWatch] = None
        self.namespace = ""
        self._reaper: Optional[asyncio.Task] = None

    # ------------------------------------------------------------------ settings

    def namespace_for(self, env: dict[str, str]) -> str:
        """The namespace of this launch's pod and Secret (the one place it is chosen)."""
        return self.chosen_namespace()

    def server_id(self) -> str:
        """This server's identity in its pods' labels (``k8s_server_id``, else derived from
        the host name and the folder of the server's kernel records)."""
        if self.k8s_server_id:
            return self.k8s_server_id
        store = getattr(getattr(self.parent, "parent", None), "kernel_store", None)
        folder = str(getattr(store, "directory", "") or jupyter_runtime_dir())
        seed = f"{socket.gethostname()}:{os.path.abspath(folder)}"
        return "jrk-" + hashlib.sha256(seed.encode()).hexdigest()[:16]

    def selector(self) -> str:
        return f"{MANAGED_BY[0]}={MANAGED_BY[1]},{SERVER_LABEL}={self.server_id()}"

    def cluster_client(self) -> K8sClient:
        return watches_of(self.services).client(
            self.k8s_kubeconfig, self.k8s_context, self.k8s_in_cluster, self.k8s_api_timeout
        )

    def find_poller(self) -> PodWatch:
        """The server's watch of this kernel's namespace (one per cluster and namespace)."""
        return watches_of(self.services).get(
            self.cluster_client(),
            self.namespace or self.k8s_namespace,
            self.selector(),
            self.k8s_watch_seconds,
        )

    @property
    def watch_key(self) -> str:
        return str(self.kernel_id)

    def placeholder_values(self) -> dict[str, str]:
        values = super().placeholder_values()
        # Kubernetes expands $(VAR) in a container's command from its env (downward API).
        values["pod_ip"] = f"$({POD_IP_ENV})"
        return values

    def launcher_location(self) -> str:
        return f"{self.k8s_mount_path.rstrip('/')}/{launcher_files('python')[0].name}"

    # ------------------------------------------------------------------ base hooks

    async def cluster_host(self) -> str:
        return await self.cluster_client().host()

    def kernel_bind_ip(self) -> str:
        # The pod has a network namespace of its own: all of it is the pod IP (and loopback).
        # The template's ``--ip {pod_ip}`` names the pod IP itself.
        return "0.0.0.0"  # noqa: S104

    def connect_ip(self, info: dict[str, Any]) -> str:
        """The address the launcher's callback names (the pod IP it binds, ``--ip {pod_ip}``
        or the container's own); it fills the placement's ``pod_ip`` at once, which the
        watch has only once the kubelet reports it (seen seconds after the callback)."""
        ip = str(info.get("ip") or "")
        if ip in ("", "0.0.0.0", "::"):  # noqa: S104
            return str(self.placement.details.get("pod_ip") or "")
        if not self.placement.details.get("pod_ip"):
            self.placement.set_details({**self.placement.details, "pod_ip": ip})
        return ip

    def location(self) -> str:
        """``k8s · pod jrk-3f2a… on node-2``; ``k8s · pod jrk-3f2a…`` while not placed."""
        if not self.job_id:
            return self.kind
        where = f"{self.kind} · pod {self.job_id}"
        node = self.placement.details.get("node")
        return f"{where} on {node}" if node else where

    def location_suffix(self) -> str:
        if not self.job_id:
            return ""
        node = self.placement.details.get("node")
        return f" in pod {self.job_id} (namespace {self.namespace})" + (
            f" on {node}" if node else ""
        )

    # ------------------------------------------------------------------ launch

    def pod_manifest(self, name: str, namespace: str, cmd: list[str],
                     env: dict[str, str]) -> dict[str, Any]:
        """The pod of one launch (``env``: the start request's environment)."""
        return self.apply_overrides(make_pod_manifest(
            name=name, namespace=namespace, kernel_id=str(self.kernel_id),
            server_id=self.server_id(), image=self.k8s_image,
            pull_policy=self.k8s_image_pull_policy, argv=self.pod_command(cmd),
            mount_path=self.k8s_mount_path, grace_period=self.k8s_grace_period,
            resources=self.k8s_resources or None,
        ))  # fmt: skip

    def bundle_env(self, env: dict[str, str]) -> dict[str, str]:
        """What the kernel's environment gets (in the bundle, never in the pod spec): the
        request's ``KERNEL_*`` values and the kernelspec's env."""
        spec_env = (self.kernel_spec.env if self.kernel_spec else None) or {}
        forwarded = {k: str(v) for k, v in env.items() if k.startswith("KERNEL_")}
        return {**{k: str(env[k]) for k in spec_env if k in env}, **forwarded}

    async def start_launcher(
        self, cmd: list[str], env: dict[str, str], cwd: Optional[str], bundle: dict[str, Any]
    ) -> None:
        """Make the Secret, the pod, then the Secret's owner reference; return once the API
        has the pod. Called by :meth:`_start_and_wait` for every launch (restarts too)."""
        if not self.k8s_image:
            msg = (
                f"Kernelspec {self.kernel_spec.display_name if self.kernel_spec else ''!r} "
                "names no image: set k8s_image in its process_proxy.config."
            )
            raise LaunchError(msg)
        if cmd and cmd[0] == sys.executable:
            # Jupyter made argv[0] "python3" this server's interpreter: the image has its own.
            cmd = [self.k8s_python, *cmd[1:]]
        self.namespace = namespace = self.namespace_for(env)
        await self.acquire_namespace(namespace)
        self.poller = self.find_poller()
        self.watch()
        name = f"{self.k8s_pod_prefix}-{str(self.kernel_id)[:8]}-{secrets.token_hex(3)}"
        self.begin_launch(f"pod {name} in namespace {namespace}")
        files = await asyncio.to_thread(
            lambda: {path.name: path.read_bytes() for path in launcher_files("python")}
        )
        files[BUNDLE_FILE] = protocol.encode_bundle({**bundle, "env": self.bundle_env(env)})
        secret = secret_manifest(name, namespace, str(self.kernel_id), self.server_id(), files)
        manifest = self.pod_manifest(name, namespace, cmd, env)
        k8s = self.poller.client
        self.submitted = True
        await k8s.call(f"create secret {name} in {namespace}", "create_namespaced_secret",
                       namespace, secret)  # fmt: skip
        try:
            created = await k8s.call(f"create pod {name} in {namespace}",
                                     "create_namespaced_pod", namespace, manifest)  # fmt: skip
        except K8sError as exc:
            await self._delete(name, pod=False)
            msg = f"Kernel {self.kernel_id}: {exc}"
            raise LaunchError(msg) from exc
        self.job_id = name
        self.placement.set_details(
            {"pod": name, "namespace": namespace, "node": None, "pod_ip": None}
        )
        self.placement.set_phase("pending", "waiting for the scheduler")
        owner = {"apiVersion": "v1", "kind": "Pod", "name": name, "uid": created.metadata.uid}
        try:
            await k8s.call(f"set the owner of secret {name} in {namespace}",
                           "patch_namespaced_secret", name, namespace,
                           {"metadata": {"ownerReferences": [owner]}})  # fmt: skip
        except K8sError as exc:  # deleted with the pod by this server all the same
            self.log.warning("%s", exc)

    def cached_job(self, job_id: str) -> Optional[PodState]:
        assert self.poller is not None
        return self.poller.pod(job_id)

    def show_job(self, job: PodState) -> None:
        # The pod IP the launcher's callback named stays until the watch has one.
        details = self.placement.details
        known = details.get("pod_ip") if details.get("pod") == job.name else None
        self.placement.state = job.state
        self.placement.set_details(
            {"pod": job.name, "namespace": self.namespace, "node": job.node or None,
             "pod_ip": job.pod_ip or known or None}
        )  # fmt: skip
        if job.node:
            self.placement.host = job.node

    def job_ended(self, job: PodState) -> bool:
        return job.ended

    def launch_failed(self, job: PodState) -> bool:
        return job.ended or job.waiting in messages.IMAGE_ERRORS | messages.START_ERRORS

    def job_vanished(self) -> bool:
        return (
            self.seen and self.poller is not None and self.poller.synced
            and self.poller.last_error is None and self.poller.pod(str(self.job_id)) is None
        )  # fmt: skip

    async def launch_failure(self, job: PodState) -> str:
        if job.waiting in messages.IMAGE_ERRORS:
            return messages.image_failed(job, self.namespace, str(self.kernel_id))
        if job.waiting in messages.START_ERRORS:
            return messages.start_failed(job, self.namespace, str(self.kernel_id))
        return messages.ended_before_ready(job, self.namespace, str(self.kernel_id))

    def job_phase(self, job: PodState) -> tuple[str, str]:
        if not job.node:
            return "pending", job.unschedulable or "waiting for the scheduler"
        return "waiting-for-launcher", messages.waiting_detail(job)

    def death(self, job: Optional[PodState]) -> str:
        return messages.died(job, str(self.job_id), self.namespace, str(self.kernel_id))

    def job_exit_code(self, job: Optional[PodState]) -> int:
        if job is not None and job.exit_code is not None:
            return job.exit_code
        return 1

    def timeout_message(self, timeout: float) -> str:
        return messages.timed_out(
            self.current_job(), kernel_id=str(self.kernel_id), namespace=self.namespace,
            timeout=timeout, watch_error=self.poller.last_error if self.poller else None,
            response_address=self.response_address,
        )  # fmt: skip

    # ------------------------------------------------------------------ stopping

    def node_timeout(self) -> float:
        return self.k8s_node_timeout

    def job_name(self) -> str:
        return "pod"

    async def launcher_exit_code(self) -> Optional[int]:
        """From the watch's cache: None while the pod runs, else its exit code.

        A pod that ended under the kernel is deleted with its Secret at once: Jupyter may drop
        a dead kernel without a shutdown (no automatic restart), and nothing of it may stay.
        """
        code = await super().launcher_exit_code()
        if code is not None and self.job_id is not None and self._reaper is None:
            self._reaper = asyncio.create_task(self._reap(self.job_id))
        return code

    async def _reap(self, name: str) -> None:
        await self._delete(name, grace=0)
        if self.placement.phase == "dead":
            self.unwatch()  # a restart or a shutdown follows it again if needed

    async def shutdown_requested(self, restart: bool = False) -> None:
        """The kernel was asked to shut down (or restart); :meth:`release` then deletes the
        pod and its Secret and waits until they are gone."""
        self.placement.set_phase("shutting-down")
        await super().shutdown_requested(restart)

    async def kill(self, restart: bool = False) -> None:
        await super().kill(restart)
        await self.force_stop()

    def _client(self) -> K8sClient:
        return self.cluster_client() if self.poller is None else self.poller.client

    async def _delete(self, name: str, pod: bool = True, grace: Optional[int] = None) -> None:
        """Delete the pod (``grace`` seconds) and its Secret; a missing one is fine."""
        grace = self.k8s_grace_period if grace is None else grace
        await self._client().delete_objects(name, self.namespace, grace if pod else None)

    async def force_stop(self) -> None:
        """Delete this launch's pod and Secret (or, created but unknown, every pod and Secret
        of the kernel by its label)."""
        if self.job_id is not None:
            await self._delete(self.job_id)
        elif self.submitted and self.namespace:
            selector = f"{self.selector()},{KERNEL_LABEL}={self.kernel_id}"
            await self._client().delete_labelled(selector, self.namespace)

    async def end_job(self, job_id: str) -> None:
        """Delete pod and Secret unless gone, and wait until the API says both are gone."""
        assert self.poller is not None
        reaper, self._reaper = self._reaper, None
        if reaper is not None:
            await reaper
        await self._delete(job_id)
        if not await self.poller.confirm_gone(job_id, self.k8s_delete_timeout):
            self.log.error(
                "The pod or Secret %s of kernel %s (namespace %s) was not gone within %.0f s "
                "of its deletion; delete it by hand (kubectl delete pod,secret -n %s %s)",
                job_id, self.kernel_id, self.namespace, self.k8s_delete_timeout,
                self.namespace, job_id,
            )  # fmt: skip

    # ------------------------------------------------------------------ persistence

    def cluster_record(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "kubeconfig": self.k8s_kubeconfig,
            "context": self.k8s_context,
            "in_cluster": self.k8s_in_cluster,
            "server_id": self.server_id(),
        }

    def load_cluster_record(self, record: dict[str, Any]) -> None:
        self.namespace = str(record.get("namespace") or self.k8s_namespace)
        self.k8s_kubeconfig = str(record.get("kubeconfig") or self.k8s_kubeconfig)
        self.k8s_context = str(record.get("context") or self.k8s_context)
        self.k8s_in_cluster = bool(record.get("in_cluster", self.k8s_in_cluster))
        self.k8s_server_id = str(record.get("server_id") or self.k8s_server_id)

    async def load_provisioner_info(self, provisioner_info: dict) -> None:
        """Follow the pod again after a server restart (after the watch's first list)."""
        await super().load_provisioner_info(provisioner_info)
        if self.job_id and self.poller is not None:
            await self.poller.wait_synced(2 * self.k8s_api_timeout)
