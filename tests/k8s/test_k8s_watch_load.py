"""One watch serves 20 kernels (issue 20, item 2), counted at the API server.

A real Jupyter Server with our Kubernetes kernelspec talks to the real cluster as a user of
its own (a client certificate made for this test), so the API server's audit log tells its
requests from the kubelet's, the controllers' and the harness's. With 1 and then with 20
idle kernels, the server's requests per second over the same window stay flat: no request
per kernel per interval (while the count does see the server: each start's Secret and pod).
The watches themselves: at no time more than one watch of the namespace is open, and the
20-kernel window holds no list or get at all. Afterwards no pod or Secret of ours is left
(asked of the API)."""

from __future__ import annotations

import concurrent.futures as cf
import json
import time

import pytest

from testing.k8sspecs import k8s_spec

from ..kernels import ws_execute
from ..server_process import ServerProcess

pytestmark = pytest.mark.timeout(900)

USER = "jrk-watch-load"
IDLE = 20
WINDOW = 15.0  # seconds; a per-kernel poll at this interval or faster adds >= 19/15 req/s
SELECTOR = "app.kubernetes.io/managed-by=jupyter-remote-kernels"


def ours(cluster, kind: str) -> list[str]:
    items = cluster.api("GET", f"/api/v1/{kind}?labelSelector={SELECTOR}").get("items", [])
    return [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in items]


def window(cluster, seconds: float = WINDOW) -> tuple[float, list]:
    """The server's requests per second over the next *seconds*, and those requests."""
    time.sleep(3)  # what the starts caused has settled
    t0 = time.time()
    time.sleep(seconds)
    requests = cluster.requests_by(USER, since=t0, until=t0 + seconds)
    return len(requests) / seconds, requests


def max_open_watches(requests: list, now: float) -> int:
    """The most watch requests open at the same moment."""
    edges = []
    for r in requests:
        if r.verb == "watch":
            edges += [(r.time, 1), (r.ended or now, -1)]
    most = current = 0
    for _, step in sorted(edges):
        current += step
        most = max(most, current)
    return most


def test_one_watch_serves_20_idle_kernels(k8s_cluster, tmp_path):
    kubeconfig = k8s_cluster.client_kubeconfig(USER)
    folder = tmp_path / "data" / "kernels" / "k8s-load"
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps(
        k8s_spec(k8s_cluster, kubeconfig, display_name="k8s load", launch_timeout=300)))
    server = ServerProcess(tmp_path, token="k8s-load").start(timeout=60)
    since = time.time()
    ids: list[str] = []

    def start() -> str:
        r = server.request("POST", "/api/kernels", {"name": "k8s-load"}, timeout=400)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    try:
        ids.append(start())
        assert ws_execute(server, ids[0], "print(6 * 7)", timeout=120) == "42\n"
        rate_1, _ = window(k8s_cluster)
        starting = time.time()
        with cf.ThreadPoolExecutor(5) as pool:
            ids += list(pool.map(lambda _: start(), range(IDLE - 1)))
        assert ws_execute(server, ids[-1], "print(6 * 7)", timeout=120) == "42\n"
        assert len(ours(k8s_cluster, "pods")) == IDLE
        # The count does see this server: its starts made a Secret and a pod each.
        creates = [r for r in k8s_cluster.requests_by(USER, since=starting)
                   if r.verb == "create"]
        assert len(creates) >= 2 * (IDLE - 1), creates
        rate_20, in_window = window(k8s_cluster)
        print(f"API requests/s from the server: {rate_1:.2f} with 1 idle kernel, "
              f"{rate_20:.2f} with {IDLE} idle kernels (audit log, {WINDOW:g} s windows)")
        print(f"  the {IDLE}-kernel window's requests: "
              f"{[(r.verb, r.uri.split('?')[0]) for r in in_window]}")
        # flat: less than one request per kernel per window more than with one kernel
        assert rate_20 <= rate_1 + (IDLE - 1) / WINDOW / 4, (rate_1, rate_20, in_window)
        assert not [r for r in in_window if r.verb in ("get", "list")], in_window
        everything = k8s_cluster.requests_by(USER, since=since)
        watches = [r for r in everything if r.verb == "watch"]
        print(f"  watches opened since the server started: {len(watches)}; most open at once: "
              f"{max_open_watches(everything, time.time())}")
        assert {r.uri.split("?")[0] for r in watches} == {"/api/v1/namespaces/default/pods"}
        assert max_open_watches(everything, time.time()) == 1
    finally:
        with cf.ThreadPoolExecutor(5) as pool:
            list(pool.map(lambda k: server.request("DELETE", f"/api/kernels/{k}",
                                                   timeout=120), ids))
        server.stop()
    deadline = time.monotonic() + 30
    while (ours(k8s_cluster, "pods") or ours(k8s_cluster, "secrets")) \
            and time.monotonic() < deadline:
        time.sleep(0.5)
    assert ours(k8s_cluster, "pods") == [] and ours(k8s_cluster, "secrets") == []
