"""Counting requests at the API server (testing/k8scluster/audit.py): a client with a user of
its own (``client_kubeconfig``) makes a known number of requests and opens a watch; the API
server's audit log counts exactly those — by user and by User-Agent — and none of the
harness's own (admin) requests nor any from before ``since``."""

from __future__ import annotations

import asyncio
import time

from kubernetes_asyncio import client, config


async def counted_client(kubeconfig, agent: str, gets: int) -> None:
    cfg = client.Configuration()
    await config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    async with client.ApiClient(cfg) as api:
        api.user_agent = agent
        v1 = client.CoreV1Api(api)
        for _ in range(gets):
            await v1.list_namespaced_pod("default")
        resp = await v1.list_namespaced_pod("default", watch=True, timeout_seconds=1,
                                            _preload_content=False)
        async with resp:
            await resp.read()  # the server ends the watch after a second


def test_requests_by_counts_one_clients_requests_at_the_api_server(k8s_cluster):
    user = "jrk-audit-test"
    kubeconfig = k8s_cluster.client_kubeconfig(user)
    asyncio.run(asyncio.wait_for(counted_client(kubeconfig, "jrk-before/1", 2), 60))
    since = time.time()
    time.sleep(0.05)  # the audit log's times are the server's clock, in microseconds
    for _ in range(3):  # the harness's own requests (admin) are not this user's
        k8s_cluster.api("GET", "/api/v1/namespaces/default/pods")
    asyncio.run(asyncio.wait_for(counted_client(kubeconfig, "jrk-counted/1", 5), 60))
    until = time.time()

    mine = k8s_cluster.requests_by(user, since=since)
    verbs = [r.verb for r in mine]
    print(f"audit log: {len(mine)} requests by {user}: {verbs}")
    assert verbs == ["list"] * 5 + ["watch"], mine
    assert all(r.user_agent == "jrk-counted/1" and r.code == 200 for r in mine), mine
    assert all(r.uri.startswith("/api/v1/namespaces/default/pods") for r in mine), mine
    # the same requests by User-Agent; the earlier client only without `since`
    assert k8s_cluster.requests_by("jrk-counted", since=since) == mine
    assert len(k8s_cluster.requests_by("jrk-before")) == 3
    assert not k8s_cluster.requests_by("jrk-before", since=since)
    assert len(k8s_cluster.requests_by("kubernetes-admin", since=since, until=until)) >= 3
    rate = k8s_cluster.request_rate(user, since, until)
    assert abs(rate - 6 / (until - since)) < 1e-9
