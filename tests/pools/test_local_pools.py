"""Warm pools of a local kernelspec, through a real Jupyter Server process.

Every check of what is left looks at the processes (``/proc``), not at the manager."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from testing.specs import pids_mentioning, shipped_local_spec, write_kernelspec

from ..kernels import ws_execute
from ..pool_helpers import (
    median,
    pool_kernel_ids,
    pool_of,
    pools,
    timed_start,
    wait_for,
    wait_full,
)
from ..server_process import ServerProcess

pytestmark = pytest.mark.timeout(600)

NAME = "warm-python"


def pool_spec(size: int = 2, **config) -> dict:
    spec = shipped_local_spec()
    spec["metadata"]["process_proxy"]["config"] = {"pool_size": size, **config}
    return spec


def start_server(tmp_path, *extra, spec=None, token="test-token", check=1) -> ServerProcess:
    write_kernelspec(tmp_path / "data" / "kernels", NAME, spec or pool_spec())
    args = [f"--RemoteMappingKernelManager.pool_check_interval={check}", *extra]
    return ServerProcess(tmp_path, token=token, extra_args=args).start(timeout=60)


def alive(kernel_ids) -> list[int]:
    return [pid for kernel_id in kernel_ids for pid in pids_mentioning(kernel_id)]


def stop_and_check(server: ServerProcess, kernel_ids) -> None:
    """Stop the server (SIGTERM): none of the kernels' processes may be left."""
    server.stop(signal.SIGTERM, timeout=60)
    assert wait_for(lambda: not alive(kernel_ids), 20), alive(kernel_ids)


def test_pool_fills_and_hands_out_ready_kernels(tmp_path):
    """pool_size 2: two kernels start before anyone asks; they are in /api/remote-kernels as
    `pooled`, not in /api/kernels; a start takes one (its id, its notebook folder, a fresh
    history) and the pool is refilled with a new kernel."""
    notebooks = tmp_path / "work" / "project"
    notebooks.mkdir(parents=True)
    server = start_server(tmp_path)
    seen: set[str] = set()
    try:
        pool = wait_full(server, NAME)
        assert pool["target"] == 2 and pool["status"] == "full" and pool["detail"] == ""
        warm = pool_kernel_ids(server, NAME)
        seen |= warm
        assert len(warm) == 2 and all(pids_mentioning(k) for k in warm)
        assert server.request("GET", "/api/kernels").json() == []

        r = server.request(
            "POST",
            "/api/sessions",
            {"path": "work/project/a.ipynb", "type": "notebook", "kernel": {"name": NAME}},
        )
        assert r.status_code == 201, r.text
        kernel_id = r.json()["kernel"]["id"]
        assert kernel_id in warm
        code = (
            "import os; print(os.getcwd()); print(os.environ.get('JPY_SESSION_NAME', '')); "
            "print(get_ipython().execution_count)"
        )
        cwd, session, count = ws_execute(server, kernel_id, code).splitlines()
        assert cwd == str(notebooks)
        assert session.endswith("a.ipynb")
        assert count == "1"  # a fresh history: the user's first cell is In [1]
        listed = [k["id"] for k in server.request("GET", "/api/kernels").json()]
        assert listed == [kernel_id]
        placement = server.request("GET", f"/api/remote-kernels/{kernel_id}").json()
        assert placement["placement"]["phase"] == "ready"
        assert "pool" not in placement

        refilled = wait_full(server, NAME)
        assert refilled["ready"] == 2
        now = pool_kernel_ids(server, NAME)
        assert kernel_id not in now and len(now - warm) == 1
        seen |= now
    finally:
        stop_and_check(server, seen)


def test_sequential_pooled_starts_beat_cold_starts(tmp_path):
    """10 starts one after the other, each once the pool is full again, against 10 cold
    starts of the same kernelspec without a pool (same server settings otherwise)."""
    cold_server = start_server(tmp_path / "cold", spec=pool_spec(0))
    cold, ids = [], []
    try:
        for _ in range(5):
            seconds, kernel_id = timed_start(cold_server, NAME)
            cold.append(seconds)
            ids.append(kernel_id)
            assert server_delete(cold_server, kernel_id)
    finally:
        stop_and_check(cold_server, ids)
    server = start_server(tmp_path / "warm")
    warm_times, ids = [], []
    try:
        for _ in range(10):
            wait_full(server, NAME)
            seconds, kernel_id = timed_start(server, NAME)
            warm_times.append(seconds)
            ids.append(kernel_id)
            assert server_delete(server, kernel_id)
        ids += list(pool_kernel_ids(server, NAME))
    finally:
        stop_and_check(server, ids)
    # The absolute figures (under 0.15 s) are in benchmarks/: here, only that the pool is
    # what makes starts fast.
    assert median(warm_times) < 0.6 * median(cold), (warm_times, cold)


def server_delete(server: ServerProcess, kernel_id: str) -> bool:
    r = server.request("DELETE", f"/api/kernels/{kernel_id}")
    return r.status_code == 204 and wait_for(lambda: not pids_mentioning(kernel_id), 20)


def burst(server: ServerProcess, n: int = 5) -> list[tuple[float, str]]:
    with ThreadPoolExecutor(n) as executor:
        return list(executor.map(lambda _: timed_start(server, NAME), range(n)))


def test_burst_takes_the_warm_kernels_and_starts_the_rest_cold(tmp_path):
    """5 concurrent starts with 2 warm kernels: 2 are served from the pool, 3 start cold,
    and the cold ones are no slower than the same burst without a pool (the refill waits
    for users' launches); afterwards the pool is full again and nothing is duplicated."""
    plain = start_server(tmp_path / "plain", spec=pool_spec(0))
    try:
        without = burst(plain)
    finally:
        stop_and_check(plain, [kernel_id for _, kernel_id in without])
    server = start_server(tmp_path / "pool")
    ids: set[str] = set()
    try:
        wait_full(server, NAME)
        warm = pool_kernel_ids(server, NAME)
        results = burst(server)
        started = {kernel_id for _, kernel_id in results}
        ids |= started | warm
        assert len(started) == 5
        assert len(started & warm) == 2
        cold = [seconds for seconds, kernel_id in results if kernel_id not in warm]
        assert median(cold) <= 1.5 * median([s for s, _ in without]), (results, without)
        wait_full(server, NAME)
        refill = pool_kernel_ids(server, NAME)
        ids |= refill
        assert len(refill) == 2 and not refill & started
        launchers = [p for k in refill | started for p in pids_mentioning(f"--kernel-id {k}")]
        assert len(launchers) == 7  # one launcher per kernel: 5 users' + 2 pool kernels
    finally:
        stop_and_check(server, ids)


def test_a_killed_pool_kernel_is_never_handed_out(tmp_path):
    """A pool kernel's process killed (SIGKILL) right before a start: the start gets the
    other, live kernel, and the dead one is replaced."""
    server = start_server(tmp_path, check=30)
    ids: set[str] = set()
    try:
        wait_full(server, NAME)
        warm = sorted(pool_kernel_ids(server, NAME))
        ids |= set(warm)
        victim = warm[0]
        kernel_pids = [p for p in pids_mentioning(victim) if "ipykernel" in cmdline(p)]
        assert kernel_pids
        for pid in kernel_pids:
            os.kill(pid, signal.SIGKILL)
        for _ in range(2):  # the first start may meet the dead one first
            _, kernel_id = timed_start(server, NAME)
            ids.add(kernel_id)
            assert kernel_id != victim
        assert wait_for(lambda: not pids_mentioning(victim), 20)
        wait_full(server, NAME)
        ids |= pool_kernel_ids(server, NAME)
        assert victim not in pool_kernel_ids(server, NAME)
    finally:
        stop_and_check(server, ids)


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_restart_and_delete_of_a_handed_out_kernel(tmp_path):
    """A handed-out kernel restarts in the request's folder (a fresh launch, not a pool
    launch) and is gone after delete; the pool is unaffected."""
    (tmp_path / "nb").mkdir()
    server = start_server(tmp_path)
    ids: set[str] = set()
    try:
        wait_full(server, NAME)
        ids |= pool_kernel_ids(server, NAME)
        r = server.request(
            "POST",
            "/api/sessions",
            {"path": "nb/x.ipynb", "type": "notebook", "kernel": {"name": NAME}},
        )
        kernel_id = r.json()["kernel"]["id"]
        assert kernel_id in ids
        r = server.request("POST", f"/api/kernels/{kernel_id}/restart")
        assert r.status_code == 200, r.text
        out = ws_execute(server, kernel_id, "import os; print(os.getcwd())", timeout=60)
        assert out.strip() == str(tmp_path / "nb")
        assert server_delete(server, kernel_id)
        wait_full(server, NAME)
        ids |= pool_kernel_ids(server, NAME)
        assert pool_of(server, NAME)["ready"] == 2
    finally:
        stop_and_check(server, ids)


def test_sigkill_and_restart_reattaches_the_pool_without_duplicates(tmp_path):
    """SIGKILL the server: its pool kernels keep running; the next server puts them back in
    the pool (same ids, no new launches) and stops them at its own stop."""
    server = start_server(tmp_path)
    ids: set[str] = set()
    try:
        wait_full(server, NAME)
        warm = pool_kernel_ids(server, NAME)
        ids |= warm
        server.stop(signal.SIGKILL)
        assert all(pids_mentioning(k) for k in warm)
        server = start_server(tmp_path)
        pool = wait_full(server, NAME, timeout=60)
        assert pool["ready"] == 2
        assert pool_kernel_ids(server, NAME) == warm
        assert server.request("GET", "/api/kernels").json() == []
        launchers = [p for k in warm for p in pids_mentioning(f"--kernel-id {k}")]
        assert len(launchers) == 2
        _, kernel_id = timed_start(server, NAME)
        assert kernel_id in warm
        wait_full(server, NAME)
        ids |= pool_kernel_ids(server, NAME)
    finally:
        stop_and_check(server, ids)
    records = list((tmp_path / "runtime" / "remote-kernels").glob("*.json"))
    assert records == []


def test_pool_api_requires_auth_and_bad_pool_size_is_a_clear_error(tmp_path):
    bad = pool_spec()
    bad["metadata"]["process_proxy"]["config"]["pool_size"] = -1
    write_kernelspec(tmp_path / "data" / "kernels", "bad-pool", bad)
    server = start_server(tmp_path, spec=pool_spec(0))
    try:
        r = requests.get(f"{server.url}/api/remote-kernels/pools", timeout=10)
        assert r.status_code == 403
        assert pools(server) == []
        r = server.request("POST", "/api/kernels", {"name": "bad-pool"})
        assert r.status_code == 400
        assert "pool_size" in r.json()["message"] and "0 or more" in r.json()["message"]
    finally:
        server.stop()


def test_the_culler_never_counts_pool_kernels(tmp_path):
    """With Jupyter Server's culler on (idle 2 s, every 1 s), idle pool kernels stay: the
    culler sees users' kernels only, and a user's idle kernel is culled as usual."""
    server = start_server(
        tmp_path,
        "--MappingKernelManager.cull_idle_timeout=2",
        "--MappingKernelManager.cull_interval=1",
    )
    ids: set[str] = set()
    try:
        wait_full(server, NAME)
        warm = pool_kernel_ids(server, NAME)
        ids |= warm
        _, kernel_id = timed_start(server, NAME)
        ids.add(kernel_id)
        assert wait_for(lambda: server.request("GET", "/api/kernels").json() == [], 30)
        assert wait_for(lambda: not pids_mentioning(kernel_id), 20)  # the user's: culled
        wait_full(server, NAME)
        now = pool_kernel_ids(server, NAME)
        ids |= now
        assert warm - {kernel_id} <= now  # the pool kernel not handed out is still there
        assert all(pids_mentioning(k) for k in now)
    finally:
        stop_and_check(server, ids)
