"""Kernels other than ipykernel on real sshd hosts (issue 23): IRkernel and bash_kernel
through the same launcher, driven through a real Jupyter Server's REST + websocket API.

The IRkernel kernelspec is the one an admin gets from ``jupyter remote-kernels install ssh
--from-kernelspec ir`` (Debian's IRkernel kernelspec), checked by ``check NAME`` first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from tornado.httpclient import HTTPClientError

from testing.eg_itests import extract_files

from ..any_kernel import BASH, R, lifecycle, require_kernels
from ..kernels import write_kernelspec
from ..ssh_helpers import ssh_spec

CLI = [sys.executable, "-m", "jupyter_remote_kernels.cli"]


def host_processes(host):
    """What runs on ``host`` besides sshd and the server's host agent: the launcher, the
    kernel and anything the kernel started (bash_kernel's shell), from its process table."""

    def processes(kernel_id: str) -> list[tuple[int, str]]:
        return [(pid, cmd) for pid, cmd in host.processes(exclude_sshd=True)
                if "jrk-agent" not in cmd]

    return processes


def run_cli(*args: str, prefix) -> subprocess.CompletedProcess:
    env = dict(os.environ, JUPYTER_PATH=str(prefix / "share" / "jupyter"))
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=180,
                          env=env, check=False)


def install(bed, host, prefix, name: str, *kernel_options: str) -> dict:
    """``install ssh`` for ``host`` with ``kernel_options``; the spec made usable with the
    bed's key and known_hosts (what an admin's ~/.ssh gives)."""
    done = run_cli("install", "ssh", f"--hosts={host.address}", f"--user-name={bed.user}",
                   f"--python={sys.executable}", f"--prefix={prefix}", f"--name={name}",
                   *kernel_options, prefix=prefix)
    assert done.returncode == 0, done.stderr
    path = prefix / "share" / "jupyter" / "kernels" / name / "kernel.json"
    spec = json.loads(path.read_text())
    spec["metadata"]["process_proxy"]["config"].update(
        ssh_key_file=str(bed.client_key_path),
        allow_agent=False,
        known_hosts_file=str(bed.known_hosts_path),
    )
    path.write_text(json.dumps(spec))
    return spec


async def test_irkernel_from_its_kernelspec_on_an_ssh_host(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, ssh_bed, tmp_path, no_blocking
):
    require_kernels()
    host = ssh_bed.hosts[0]
    spec = install(ssh_bed, host, tmp_path, "r-ssh", "--from-kernelspec=ir")
    assert spec["language"] == "R" and spec["display_name"] == "R (remote, ssh)"
    assert spec["metadata"]["process_proxy"]["config"]["kernel_argv"] == R.argv
    assert "debugger" not in spec["metadata"]  # IRkernel has no debugger
    folder = tmp_path / "share" / "jupyter" / "kernels" / "r-ssh"
    assert (folder / "logo-64x64.png").is_file()  # the lab shows R's logo

    done = run_cli("check", "r-ssh", prefix=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok   kernel     R /usr/bin/R" in done.stdout, done.stdout

    bad = install(ssh_bed, host, tmp_path, "nokernel-ssh", "--language=R",
                  '--kernel-argv=["no-such-kernel", "{connection_file}"]')
    assert bad["metadata"]["process_proxy"]["config"]["kernel_argv"][0] == "no-such-kernel"
    done = run_cli("check", "nokernel-ssh", prefix=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"FAIL kernel     no-such-kernel is not found on {host.address}" in done.stdout

    shutil.copytree(folder, jp_kernel_dir / "r-ssh")
    model = await lifecycle(jp_fetch, jp_ws_fetch, "r-ssh", R, host_processes(host))
    assert model["placement"]["kind"] == "ssh"
    assert model["placement"]["host"] == host.address


async def test_bash_kernel_on_an_ssh_host(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, ssh_bed, no_blocking
):
    require_kernels()
    host = ssh_bed.hosts[1]
    spec = {**ssh_spec(ssh_bed, hosts=[host], kernel_argv=BASH.argv), "language": "bash"}
    write_kernelspec(jp_kernel_dir, "bash-ssh", spec)
    model = await lifecycle(jp_fetch, jp_ws_fetch, "bash-ssh", BASH, host_processes(host))
    assert model["placement"]["host"] == host.address


async def test_a_missing_kernel_command_is_said_so(
    jp_fetch, jp_kernel_dir, ssh_bed, no_blocking
):
    """The launcher reports a kernel command the host lacks through its callback: the start
    fails at once with what is missing where, and nothing stays on the host."""
    host = ssh_bed.hosts[0]
    argv = ["no-such-kernel", "{connection_file}"]
    write_kernelspec(jp_kernel_dir, "none-ssh", ssh_spec(ssh_bed, hosts=[host], kernel_argv=argv))
    with pytest.raises(HTTPClientError) as failed:
        await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "none-ssh"}),
                       request_timeout=60)
    text = json.loads(failed.value.response.body)["message"]
    assert "cannot run the kernel's command 'no-such-kernel'" in text, text
    assert "No such file or directory" in text, text
    assert not host_processes(host)("")


async def test_egs_spark_r_yarn_client_migrated_runs_irkernel_on_an_ssh_host(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, ssh_bed, tmp_path, no_blocking
):
    """EG's real ``spark_R_yarn_client`` (a distributed spec whose run.sh submits EG's
    ``launch_IRkernel.R``), migrated, runs IRkernel on an SSH host through our launcher."""
    require_kernels()
    root = extract_files(tmp_path / "eg", "etc/kernelspecs/spark_R_yarn_client")
    folder = shutil.copytree(root / "etc/kernelspecs/spark_R_yarn_client",
                             tmp_path / "share/jupyter/kernels/spark_R_yarn_client")
    done = run_cli("migrate", "spark_r_yarn_client", prefix=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "no SparkR session" in done.stdout, done.stdout
    spec = json.loads((folder / "kernel.json").read_text())
    assert spec["argv"][:2] == ["python3", "{launcher}"], spec
    host = ssh_bed.hosts[0]
    # What an admin adds for the hosts (EG took them from EG_REMOTE_HOSTS).
    spec["metadata"]["process_proxy"]["config"].update(
        remote_hosts=[host.address], remote_user=ssh_bed.user,
        ssh_key_file=str(ssh_bed.client_key_path), allow_agent=False,
        known_hosts_file=str(ssh_bed.known_hosts_path),
    )
    write_kernelspec(jp_kernel_dir, "spark_r_yarn_client", spec)
    model = await lifecycle(jp_fetch, jp_ws_fetch, "spark_r_yarn_client", R, host_processes(host))
    assert model["placement"]["host"] == host.address
