"""The backend's one watch per namespace (jupyter_remote_kernels.k8s.watch) against the real
cluster: one list, then watch requests resumed from the last resourceVersion (the API server
ends each after ``timeoutSeconds``); pods' states arrive as events; a 410 Gone (an expired
resourceVersion, which the real API server gives only after compaction: injected once into
the real stream) makes it list again; unwatching the last kernel ends the watch request."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

import pytest

from jupyter_remote_kernels.k8s.client import K8sClient
from jupyter_remote_kernels.k8s.pod import KERNEL_LABEL, MANAGED_BY, SERVER_LABEL
from jupyter_remote_kernels.k8s.watch import PodWatch
from testing.k8scluster import PYTHON_IMAGE

pytestmark = pytest.mark.timeout(300)


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def _say(self, msg: str, *args: Any, **_: Any) -> None:
        self.lines.append(msg % args if args else msg)

    debug = info = warning = error = exception = _say


class _Gone:
    """A watch response whose only event is the API server's 410 Gone."""

    def __init__(self) -> None:
        line = json.dumps({"type": "ERROR", "object": {"kind": "Status", "code": 410,
                                                       "reason": "Expired"}})  # fmt: skip
        self.content = asyncio.StreamReader()
        self.content.feed_data(line.encode() + b"\n")
        self.content.feed_eof()

    def release(self) -> None:
        pass


class GoneOnce(K8sClient):
    """The real client; its first watch request answers 410 Gone."""

    gone_sent = False

    async def call(self, what, method, *args, **kwargs):
        if kwargs.get("watch") and not self.gone_sent:
            self.gone_sent = True
            self.requests += 1
            return _Gone()
        return await super().call(what, method, *args, **kwargs)


def pod_body(name: str, kernel_id: str, server: str, command=("sleep", "600")) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {MANAGED_BY[0]: MANAGED_BY[1],
                                                  KERNEL_LABEL: kernel_id, SERVER_LABEL: server}},
            "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                     "automountServiceAccountToken": False,
                     "containers": [{"name": "kernel", "image": PYTHON_IMAGE,
                                     "imagePullPolicy": "Never",
                                     "command": list(command)}]}}  # fmt: skip


async def until(predicate, watch: PodWatch, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        await watch.next_round(0.5)
    return bool(predicate())


@pytest.mark.parametrize("client_class", [K8sClient, GoneOnce], ids=["real", "410-once"])
def test_one_list_then_resumed_watches_follow_the_pods(k8s_cluster, client_class):
    server, kernels = f"test-{secrets.token_hex(4)}", [secrets.token_hex(4) for _ in range(2)]
    names = [f"watch-{k}" for k in kernels]
    log = _Log()

    async def scenario():
        k8s = client_class(kubeconfig=str(k8s_cluster.kubeconfig), context="", in_cluster=False,
                           timeout=10.0, log=log)  # fmt: skip
        selector = f"{MANAGED_BY[0]}={MANAGED_BY[1]},{SERVER_LABEL}={server}"
        watch = PodWatch(k8s, "default", selector, watch_seconds=2, log=log)
        for kernel in kernels:
            watch.watch(kernel)
        try:
            assert await watch.wait_synced(20)
            for name, kernel in zip(names, kernels):
                await asyncio.to_thread(k8s_cluster.api, "POST", "/api/v1/namespaces/default/pods",
                                        pod_body(name, kernel, server))  # fmt: skip
            running = await until(lambda: all((p := watch.pod(n)) and p.running and p.pod_ip
                                              for n in names), watch, 60)  # fmt: skip
            assert running, [watch.pod(n) for n in names]
            assert [p.name for p in watch.items(kernels[0])] == [names[0]]
            # A pod of this server that no watched kernel owns, once it ended, is deleted.
            orphan = f"watch-orphan-{secrets.token_hex(3)}"
            await asyncio.to_thread(k8s_cluster.api, "POST", "/api/v1/namespaces/default/pods",
                                    pod_body(orphan, "no-kernel", server, ["true"]))
            swept = await until(lambda: (p := watch.pod(orphan)) and p.deleted, watch, 60)
            assert swept, watch.pod(orphan)
            await asyncio.sleep(5)  # at least two watch requests end (timeoutSeconds=2)
            counts = (watch.lists, watch.watches)
            for name in names:
                await asyncio.to_thread(
                    k8s_cluster.api, "DELETE", f"/api/v1/namespaces/default/pods/{name}")
            gone = await until(lambda: all((p := watch.pod(n)) and p.deleted for n in names),
                               watch, 60)  # fmt: skip
            assert gone, [watch.pod(n) for n in names]
            for kernel in kernels:
                watch.unwatch(kernel)
            await asyncio.sleep(0.5)
            ended = not watch.running
            return counts, ended, watch.last_error
        finally:
            await watch.close()
            await k8s.close()

    (lists, watches), ended, error = asyncio.run(asyncio.wait_for(scenario(), 200))
    relists = 1 if client_class is GoneOnce else 0
    assert lists == 1 + relists, (lists, log.lines)
    assert watches >= 3 + relists, (watches, log.lines)  # resumed, not listed again
    assert ended and error is None, (ended, error)
