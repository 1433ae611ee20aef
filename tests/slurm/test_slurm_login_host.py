"""Slurm kernels submitted on a login node over SSH (``slurm_login_host``): the server runs
no Slurm command itself. The login node is a host of the cluster's own SSH test bed (a real
sshd; Slurm's commands there reach the real controller)."""

from __future__ import annotations

import json
import signal
import stat
from pathlib import Path

import pytest

from testing.specs import slurm_spec, write_kernelspec

from ..kernels import ws_execute
from ..server_process import ServerProcess
from ..slurm_helpers import nothing_left, start_kernel, wait_for

pytestmark = pytest.mark.timeout(600)



def logging_bin_dir(folder: Path, log: Path) -> Path:
    """Slurm commands that log the host they run on (then run the real one)."""
    folder.mkdir(parents=True)
    for name in ("sbatch", "squeue", "scancel", "scontrol", "sinfo", "srun"):
        wrapper = folder / name
        wrapper.write_text(f'#!/bin/sh\necho "{name} $(hostname)" >> "{log}"\n'
                           f'exec /usr/bin/{name} "$@"\n')  # fmt: skip
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return folder


def login_spec(cluster, tmp_path: Path, **config) -> dict:
    bed = cluster.bed
    login = bed.hosts[0]
    return slurm_spec(
        cluster,
        slurm_login_host=f"{bed.user}@{login.address}:{login.port}",
        slurm_login_key_file=str(bed.client_key_path),
        slurm_login_known_hosts=str(bed.known_hosts_path),
        **config,
    )


def sshd_sessions(host) -> list:
    return [p for p in host.processes() if p[1].startswith("sshd:")]


def test_kernel_submitted_on_a_login_node(slurm_cluster, tmp_path):
    """Every Slurm command runs on the login node; the kernel runs on a compute node; after
    delete and server stop no job, no kernel and no SSH session is left."""
    log = tmp_path / "commands.log"
    spec = login_spec(slurm_cluster, tmp_path,
                      slurm_bin_dir=str(logging_bin_dir(tmp_path / "bin", log)))
    write_kernelspec(tmp_path / "data" / "kernels", "slurm-login", spec)
    login = slurm_cluster.bed.hosts[0]
    srv = ServerProcess(tmp_path, token="slurm-login").start(timeout=60)
    try:
        r = start_kernel(srv, "slurm-login", KERNEL_WEIRD="$(id) 'x'")
        assert r.status_code == 201, r.text
        kernel_id, placement = r.json()["id"], r.json()["placement"]
        assert placement["phase"] == "ready" and placement["host"] in slurm_cluster.node_names
        out = ws_execute(srv, kernel_id, "import os; print(os.environ['KERNEL_WEIRD'])")
        assert out == "$(id) 'x'\n"
        hosts = {line.split()[1] for line in log.read_text().splitlines()}
        assert hosts == {login.hostname}, log.read_text()
        assert {"sbatch", "squeue"} <= {line.split()[0] for line in log.read_text().splitlines()}
        assert srv.request("DELETE", f"/api/kernels/{kernel_id}").status_code == 204
        assert nothing_left(slurm_cluster, [kernel_id]) == ([], [])
    finally:
        srv.stop(signal.SIGTERM, timeout=120)
    assert wait_for(lambda: not sshd_sessions(login), 30), sshd_sessions(login)


def test_unknown_login_host_key_is_refused(slurm_cluster, tmp_path):
    """A login node whose host key is not in known_hosts: no command runs, the error says
    which host and how to trust it."""
    spec = login_spec(slurm_cluster, tmp_path)
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    spec["metadata"]["process_proxy"]["config"]["slurm_login_known_hosts"] = str(empty)
    write_kernelspec(tmp_path / "data" / "kernels", "slurm-unknown", spec)
    before = {j["id"] for j in slurm_cluster.jobs(all_states=True)}
    srv = ServerProcess(tmp_path, token="slurm-login").start(timeout=60)
    try:
        r = start_kernel(srv, "slurm-unknown")
        assert r.status_code == 502, r.text
        message = json.loads(r.text)["message"]
        login = slurm_cluster.bed.hosts[0]
        assert login.address in message and "known_hosts" in message, message
    finally:
        srv.stop(signal.SIGTERM, timeout=120)
    # Finished jobs leave the list after MinJobAge: what counts is that none was added.
    assert {j["id"] for j in slurm_cluster.jobs(all_states=True)} - before == set()
