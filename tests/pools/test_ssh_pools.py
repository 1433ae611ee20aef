"""Warm pools of an SSH kernelspec on the real sshd hosts of the test bed, through a real
Jupyter Server process. What is left is looked at on the hosts (their processes)."""

from __future__ import annotations

import os
import signal

import pytest

from testing.specs import ssh_spec, write_kernelspec

from ..kernels import ws_execute
from ..pool_helpers import median, pool_kernel_ids, timed_start, wait_for, wait_full
from ..server_process import ServerProcess
from ..ssh_helpers import kernel_pids

pytestmark = pytest.mark.timeout(900)

NAME = "warm-ssh"


def start_server(tmp_path, bed, **config) -> ServerProcess:
    spec = ssh_spec(bed, pool_size=2, **config)
    write_kernelspec(tmp_path / "data" / "kernels", NAME, spec)
    args = ["--RemoteMappingKernelManager.pool_check_interval=1"]
    return ServerProcess(tmp_path, token="ssh-pool", extra_args=args).start(timeout=60)


def on_hosts(bed) -> list:
    return [p for h in bed.hosts for p in kernel_pids(h)]


def kernels_on(host, kernel_id: str) -> list[int]:
    return [pid for pid, cmd in kernel_pids(host) if kernel_id in cmd and "ipykernel" in cmd]


def test_ssh_pool_serves_starts_and_fresh_kernels_for_placement_values(tmp_path, ssh_bed_factory):
    """Pooled starts are served from kernels already running on the hosts (faster than cold
    starts of the same kernelspec); KERNEL_WORKING_DIR is applied at hand-out; a request
    naming a host (KERNEL_REMOTE_HOST) gets a fresh kernel there; server stop leaves
    nothing on any host."""
    bed = ssh_bed_factory(2)
    workdir = tmp_path / "remote-wd"
    workdir.mkdir()
    server = start_server(tmp_path, bed)
    try:
        wait_full(server, NAME)
        warm = pool_kernel_ids(server, NAME)
        models = {m["kernel_id"]: m for m in server.request("GET", "/api/remote-kernels").json()}
        hosts = {models[k]["placement"]["host"] for k in warm}
        assert hosts == {h.address for h in bed.hosts}  # round-robin: one on each host
        assert len(on_hosts(bed)) == 4  # 2 launchers + 2 kernels

        r = server.request(
            "POST", "/api/kernels", {"name": NAME, "env": {"KERNEL_WORKING_DIR": str(workdir)}}
        )
        assert r.status_code == 201, r.text
        kernel_id = r.json()["id"]
        assert kernel_id in warm
        out = ws_execute(server, kernel_id, "import os; print(os.getcwd())")
        assert out.strip() == str(workdir)

        target = bed.hosts[1]
        pooled, cold = [], []
        for _ in range(5):
            wait_full(server, NAME)
            warm = pool_kernel_ids(server, NAME)
            seconds, kernel_id = timed_start(server, NAME)
            assert kernel_id in warm
            pooled.append(seconds)
            wait_full(server, NAME)
            warm = pool_kernel_ids(server, NAME)
            seconds, kernel_id = timed_start(
                server, NAME, env={"KERNEL_REMOTE_HOST": target.address}
            )
            assert kernel_id not in warm
            assert kernels_on(target, kernel_id)
            cold.append(seconds)
        assert median(pooled) < 0.6 * median(cold), (pooled, cold)
    finally:
        server.stop(signal.SIGTERM, timeout=60)
    assert wait_for(lambda: not on_hosts(bed), 20), on_hosts(bed)


def test_ssh_pool_kernel_killed_on_its_host_is_never_handed_out(tmp_path, ssh_bed_factory):
    bed = ssh_bed_factory(2)
    server = start_server(tmp_path, bed)
    try:
        wait_full(server, NAME)
        warm = sorted(pool_kernel_ids(server, NAME))
        victim = warm[0]
        pids = [pid for h in bed.hosts for pid in kernels_on(h, victim)]
        assert pids
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        for _ in range(2):
            _, kernel_id = timed_start(server, NAME)
            assert kernel_id != victim
        wait_full(server, NAME)
        assert victim not in pool_kernel_ids(server, NAME)
        assert wait_for(
            lambda: not [p for h in bed.hosts for p in kernel_pids(h) if victim in p[1]], 20
        )
    finally:
        server.stop(signal.SIGTERM, timeout=60)
    assert wait_for(lambda: not on_hosts(bed), 20), on_hosts(bed)
