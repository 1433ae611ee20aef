"""Two users never share a pooled kernel: each mapped kernel user opted in has its own pool,
and a user without one gets fresh kernels. Through a real Jupyter Server process whose
identity provider tells the users apart by token."""

from __future__ import annotations

import json
import signal

import pytest

from testing.specs import pids_mentioning, shipped_local_spec, write_kernelspec

from ..kernels import ws_execute
from ..pool_helpers import pool_kernel_ids, pools, wait_for, wait_full
from ..server_process import ServerProcess

pytestmark = pytest.mark.timeout(600)

NAME = "warm-users"


class As(ServerProcess):
    """The same server, spoken to as another user."""

    def __init__(self, server: ServerProcess, token: str) -> None:
        self.__dict__.update(server.__dict__)
        self.token = token


def test_each_user_gets_kernels_of_their_own_pool_only(tmp_path):
    spec = shipped_local_spec()
    spec["metadata"]["process_proxy"]["config"] = {"pool_size": 1}
    write_kernelspec(tmp_path / "data" / "kernels", NAME, spec)
    config = {
        "ServerApp": {"identity_provider_class": "tests.pools.users.TokenUsers"},
        "RemoteMappingKernelManager": {
            "kernel_user_mapping": {"alice": "alice-k", "bob": "bob-k", "carol": "carol-k"},
            "pool_users": ["alice", "bob"],
            "pool_check_interval": 1,
            "trusted_gateway_users": ["hub"],
        },
    }
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
    server = ServerProcess(tmp_path, token="alice-token").start(timeout=60)
    ids: set[str] = set()
    try:
        for user in ("alice-k", "bob-k"):
            wait_full(server, NAME, user=user)
        assert {p["user"] for p in pools(server)} >= {"alice-k", "bob-k"}
        assert "carol-k" not in {p["user"] for p in pools(server)}
        for name in ("alice", "bob"):
            own = pool_kernel_ids(server, NAME, user=f"{name}-k")
            ids |= pool_kernel_ids(server, NAME)
            them = As(server, f"{name}-token")
            r = them.request("POST", "/api/kernels", {"name": NAME})
            assert r.status_code == 201, r.text
            kernel_id = r.json()["id"]
            assert kernel_id in own  # from this user's pool, never another's
            out = ws_execute(them, kernel_id, "import os; print(os.environ['KERNEL_USERNAME'])")
            assert out.strip() == f"{name}-k"
        carol = As(server, "carol-token")
        before = pool_kernel_ids(server, NAME)
        r = carol.request("POST", "/api/kernels", {"name": NAME})
        assert r.status_code == 201, r.text
        kernel_id = r.json()["id"]
        ids |= before | {kernel_id}
        assert kernel_id not in before  # no pool of hers: a fresh kernel, none of theirs
        assert ws_execute(carol, kernel_id, "import os; print(os.environ['KERNEL_USERNAME'])") == (
            "carol-k\n"
        )
        for user in ("alice-k", "bob-k"):
            wait_full(server, NAME, user=user)
        ids |= pool_kernel_ids(server, NAME)
        # A trusted gateway naming a user gets exactly what that user would get.
        hub = As(server, "hub-token")
        for name, pooled in (("bob", True), ("carol", False)):
            own = pool_kernel_ids(server, NAME, user="bob-k")
            before = pool_kernel_ids(server, NAME)
            body = {"name": NAME, "env": {"KERNEL_USERNAME": name}}
            r = hub.request("POST", "/api/kernels", body)
            assert r.status_code == 201, r.text
            kernel_id = r.json()["id"]
            ids |= before | {kernel_id}
            assert (kernel_id in own) is pooled and (kernel_id in before) is pooled
            out = ws_execute(hub, kernel_id, "import os; print(os.environ['KERNEL_USERNAME'])")
            assert out.strip() == f"{name}-k"
        # An ordinary user still may not name another.
        r = As(server, "carol-token").request(
            "POST", "/api/kernels", {"name": NAME, "env": {"KERNEL_USERNAME": "bob"}}
        )
        assert r.status_code == 403, r.text
        ids |= pool_kernel_ids(server, NAME)
    finally:
        server.stop(signal.SIGTERM, timeout=60)
    left = [p for k in ids for p in pids_mentioning(k)]
    assert wait_for(lambda: not [p for k in ids for p in pids_mentioning(k)], 20), left
