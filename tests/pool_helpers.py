"""Helpers of the warm pool tests: pool states, pool kernel ids, timed starts."""

from __future__ import annotations

import statistics
import time
from typing import Any, Optional

from .kernels import ws_execute
from .server_process import ServerProcess
from .slurm_helpers import wait_for

__all__ = ["median", "pool_kernel_ids", "pool_of", "pools", "timed_start", "wait_for", "wait_full"]


def pools(server: ServerProcess) -> list[dict[str, Any]]:
    r = server.request("GET", "/api/remote-kernels/pools")
    assert r.status_code == 200, r.text
    return r.json()


def pool_of(server: ServerProcess, kernel_name: str, user: Optional[str] = None) -> dict:
    """The pool of ``kernel_name`` (of ``user``, if given); {} while the server has none."""
    found = [p for p in pools(server) if p["kernel_name"] == kernel_name]
    if user is not None:
        found = [p for p in found if p["user"] == user]
    assert len(found) <= 1, found
    return found[0] if found else {}


def pool_kernel_ids(server: ServerProcess, kernel_name: str, user: Optional[str] = None) -> set:
    """Ids of the ready (``pooled``) kernels of a pool, from ``/api/remote-kernels``."""
    models = server.request("GET", "/api/remote-kernels").json()
    return {
        m["kernel_id"]
        for m in models
        if m.get("pool")
        and m["kernel_name"] == kernel_name
        and (user is None or m["pool"]["user"] == user)
        and m["placement"]["phase"] == "pooled"
    }


def wait_full(server: ServerProcess, kernel_name: str, timeout: float = 120, **kw) -> dict:
    """The pool once it has its target of ready kernels (fails the test otherwise)."""

    def full():
        pool = pool_of(server, kernel_name, **kw)
        return pool if pool and pool["ready"] >= pool["target"] > 0 else None

    pool = wait_for(full, timeout, 0.2)
    assert pool, pools(server)
    return pool


def timed_start(server: ServerProcess, kernel_name: str, **body) -> tuple[float, str]:
    """Seconds from POST /api/kernels to the first execute reply, and the kernel id."""
    started = time.perf_counter()
    r = server.request("POST", "/api/kernels", {"name": kernel_name, **body})
    assert r.status_code == 201, r.text
    kernel_id = r.json()["id"]
    assert ws_execute(server, kernel_id, "print('ok')") == "ok\n"
    return time.perf_counter() - started, kernel_id


def median(values: list[float]) -> float:
    return statistics.median(values)
