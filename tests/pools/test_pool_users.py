"""Two users never share a pooled kernel: each mapped kernel user opted in has its own pool,
and a user without one gets fresh kernels. Through a real Jupyter Server process whose
identity provider tells the users apart by token.

What the server says (its records, the KERNEL_USERNAME a hand-out gives the kernel) would
read the same if pools were shared: the proof is on the SSH hosts, where each user's pool
logs in as that user's own OS user (``login_as_kernel_user``), so a handed-out kernel runs
as its requester's OS user: its uid inside, its process's owner and original environment
on the host, none of which a hand-out can change."""

from __future__ import annotations

import json
import pwd
import signal
from pathlib import Path

import pytest

from testing.specs import pids_mentioning, shipped_local_spec, ssh_spec, write_kernelspec

from ..kernels import ws_execute
from ..pool_helpers import pool_kernel_ids, pools, wait_for, wait_full
from ..server_process import ServerProcess
from ..ssh_helpers import kernel_pids

pytestmark = pytest.mark.timeout(600)

NAME = "warm-users"


class As(ServerProcess):
    """The same server, spoken to as another user."""

    def __init__(self, server: ServerProcess, token: str) -> None:
        self.__dict__.update(server.__dict__)
        self.token = token


def test_each_user_gets_kernels_of_their_own_pool_only(tmp_path):
    """The server's side: a pool per opted-in user, hand-outs only from one's own, a fresh
    kernel for a user without a pool (the OS-level proof is the SSH test below)."""
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


#: Two OS users on this machine (so on every bed host), made once by testing/sshbed/users.py.
OS_USERS = {"alice": "jrk-pool-alice", "bob": "jrk-pool-bob"}


def proc_owner(pid: int) -> tuple[int, int]:
    """Real and effective uid of process ``pid`` (the bed hosts share this PID space)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            real, effective = line.split()[1:3]
            return int(real), int(effective)
    raise AssertionError(f"no Uid line for {pid}")


def proc_environ(pid: int) -> dict[str, str]:
    """The environment process ``pid`` was started with (what later putenv calls in the
    kernel, such as a hand-out's, do not change)."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    items = raw.decode(errors="replace").split("\0")
    return dict(item.split("=", 1) for item in items if "=" in item)


WHO = "import os, getpass; print(os.getuid(), os.geteuid(), getpass.getuser(), os.getpid())"


def test_ssh_pools_of_two_users_run_as_their_own_os_users(tmp_path, ssh_bed_factory):
    bed = ssh_bed_factory(2, users=tuple(OS_USERS.values()))
    name = "warm-users-ssh"
    spec = ssh_spec(bed, pool_size=1, login_as_kernel_user=True)
    write_kernelspec(tmp_path / "data" / "kernels", name, spec)
    config = {
        "ServerApp": {"identity_provider_class": "tests.pools.users.TokenUsers"},
        "RemoteMappingKernelManager": {
            "kernel_user_mapping": OS_USERS,
            "pool_users": list(OS_USERS),
            "pool_check_interval": 1,
        },
    }
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
    server = ServerProcess(tmp_path, token="alice-token").start(timeout=60)
    seen: dict[str, int] = {}
    try:
        for os_user in OS_USERS.values():
            wait_full(server, name, user=os_user, timeout=180)
        for user, os_user in OS_USERS.items():
            entry = pwd.getpwnam(os_user)
            own = pool_kernel_ids(server, name, user=os_user)
            them = As(server, f"{user}-token")
            r = them.request("POST", "/api/kernels", {"name": name})
            assert r.status_code == 201, r.text
            kernel_id = r.json()["id"]
            assert kernel_id in own
            uid, euid, login, pid = ws_execute(them, kernel_id, WHO).split()
            # Inside the kernel: the requester's OS user.
            assert (int(uid), int(euid), login) == (entry.pw_uid, entry.pw_uid, os_user)
            pid = int(pid)
            # On the host: that process is a kernel of a bed host, owned by that user...
            on_host = [p for h in bed.hosts for p, cmd in kernel_pids(h) if kernel_id in cmd]
            assert pid in on_host, (pid, on_host)
            assert proc_owner(pid) == (entry.pw_uid, entry.pw_uid)
            # ...and was started by that user's SSH login (sshd set USER / HOME), for him.
            environ = proc_environ(pid)
            assert environ.get("USER") == environ.get("LOGNAME") == os_user, environ
            assert environ.get("HOME") == entry.pw_dir, environ
            assert environ.get("KERNEL_USERNAME") == os_user, environ
            seen[user] = pid
        assert len(set(seen.values())) == 2, seen
        for os_user in OS_USERS.values():
            wait_full(server, name, user=os_user, timeout=180)
    finally:
        server.stop(signal.SIGTERM, timeout=60)
    assert wait_for(lambda: not [p for h in bed.hosts for p in kernel_pids(h)], 20), [
        p for h in bed.hosts for p in kernel_pids(h)
    ]
