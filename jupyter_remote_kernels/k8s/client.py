"""The Kubernetes API as the backend uses it: kubernetes_asyncio, every call with a timeout.

One :class:`K8sClient` per cluster (kubeconfig + context, or the server pod's own
ServiceAccount) serves every kernel of the server; it is made by the server's watches service
(:mod:`.watch`) and closed with it. Errors become :class:`~.errors.K8sError` saying what was
asked, in which namespace, and what the API answered.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any, Optional
from urllib.parse import urlparse

import aiohttp
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from .errors import K8sError

__all__ = ["K8sClient", "api_message"]


def api_message(exc: ApiException) -> str:
    """The API's own message of a refused request (its Status ``message``), else the reason."""
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        body = {}
    message = body.get("message") if isinstance(body, dict) else None
    return f"{exc.status} {message or exc.reason or ''}".strip()


class K8sClient:
    """An API client of one cluster; :meth:`call` runs one request with the timeout."""

    def __init__(
        self, *, kubeconfig: str, context: str, in_cluster: bool, timeout: float, log: Any
    ) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.in_cluster = in_cluster
        self.timeout = timeout
        self.log = log
        self.requests = 0
        self._api: Optional[client.ApiClient] = None
        self._lock = asyncio.Lock()

    @property
    def key(self) -> tuple:
        return ("in-cluster",) if self.in_cluster else (self.kubeconfig, self.context)

    def describe(self) -> str:
        if self.in_cluster:
            return "the cluster of this server's pod (in-cluster ServiceAccount)"
        where = self.kubeconfig or "the default kubeconfig"
        return f"{where}" + (f" (context {self.context})" if self.context else "")

    async def api(self) -> client.ApiClient:
        """The shared ApiClient, made (config read) on first use."""
        async with self._lock:
            if self._api is None:
                cfg = client.Configuration()
                try:
                    if self.in_cluster:
                        # Reads the ServiceAccount's token and CA: small files, off the loop.
                        await asyncio.to_thread(
                            config.load_incluster_config, client_configuration=cfg
                        )
                    else:
                        # The loader reads the kubeconfig (and writes its inline certificates
                        # to temporary files) synchronously: in a thread, on a loop of its own.
                        await asyncio.wait_for(asyncio.to_thread(self._load, cfg), self.timeout)
                except (OSError, ValueError, config.ConfigException, asyncio.TimeoutError) as exc:
                    msg = (
                        f"Cannot load the Kubernetes client configuration from "
                        f"{self.describe()}: {exc or type(exc).__name__}. Set k8s_kubeconfig "
                        "(and k8s_context) in the kernelspec's process_proxy.config, or "
                        "k8s_in_cluster for a server that runs in a pod."
                    )
                    raise K8sError(msg) from exc
                self._api = client.ApiClient(cfg)
            return self._api

    def _load(self, cfg: client.Configuration) -> None:
        path = os.path.expanduser(self.kubeconfig) if self.kubeconfig else None
        if path and not os.path.isfile(path):
            msg = f"no such file: {path}"
            raise config.ConfigException(msg)
        asyncio.run(
            config.load_kube_config(
                config_file=path,
                context=self.context or None,
                client_configuration=cfg,
                persist_config=False,
            )
        )

    async def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(await self.api())

    async def host(self) -> str:
        """The API server's host name or address (for the route back from the pods)."""
        api = await self.api()
        return urlparse(api.configuration.host).hostname or "127.0.0.1"

    async def call(self, what: str, method: str, *args: Any, missing_ok: bool = False,
                   timeout: Optional[float] = None, **kwargs: Any) -> Any:
        """``CoreV1Api.<method>(*args, **kwargs)`` within the timeout; None for a 404 when
        ``missing_ok``. ``what`` names the request in the error (``create pod jrk-1 in
        default``)."""
        timeout = timeout or self.timeout
        core = await self.core()
        self.requests += 1
        try:
            return await asyncio.wait_for(
                getattr(core, method)(*args, _request_timeout=timeout, **kwargs), timeout + 1
            )
        except ApiException as exc:
            if missing_ok and exc.status == 404:
                return None
            msg = f"Kubernetes API: {what} failed: {api_message(exc)}"
            raise K8sError(msg, exc.status or 0) from exc
        except asyncio.TimeoutError as exc:
            msg = (
                f"Kubernetes API: {what} got no answer within {timeout:g} s from "
                f"{self.describe()} (k8s_api_timeout)"
            )
            raise K8sError(msg) from exc
        except (OSError, ValueError, aiohttp.ClientError) as exc:
            msg = (
                f"Kubernetes API: {what} failed: cannot reach the API server of "
                f"{self.describe()}: {exc}"
            )
            raise K8sError(msg) from exc

    async def delete_objects(self, name: str, namespace: str, grace: Optional[int]) -> None:
        """Delete pod ``name`` (``grace`` seconds; None: not the pod) and Secret ``name``; a
        missing one is fine, a failure is logged (a launch's own error is the one to report).
        """
        kinds = (["pod"] if grace is not None else []) + ["secret"]
        for kind in kinds:
            extra = {"grace_period_seconds": grace} if kind == "pod" else {}
            try:
                await self.call(f"delete {kind} {name} in {namespace}",
                                f"delete_namespaced_{kind}", name, namespace, missing_ok=True,
                                **extra)  # fmt: skip
            except K8sError as exc:
                self.log.warning("%s", exc)

    async def delete_labelled(self, selector: str, namespace: str) -> None:
        """Delete every pod and Secret with these labels in ``namespace`` (logged failures)."""
        for kind in ("pod", "secret"):
            try:
                await self.call(f"delete {kind}s ({selector}) in {namespace}",
                                f"delete_collection_namespaced_{kind}", namespace,
                                label_selector=selector)  # fmt: skip
            except K8sError as exc:
                self.log.warning("%s", exc)

    async def gone(self, kind: str, name: str, namespace: str) -> bool:
        """True when the API answers 404 for the ``kind`` (pod, secret) ``name``."""
        try:
            found = await self.call(f"read {kind} {name} in {namespace}",
                                    f"read_namespaced_{kind}", name, namespace,
                                    missing_ok=True)  # fmt: skip
        except K8sError as exc:
            self.log.warning("%s", exc)
            return False
        return found is None

    async def close(self) -> None:
        api, self._api = self._api, None
        if api is not None:
            await api.close()
