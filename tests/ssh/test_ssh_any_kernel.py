"""Kernels other than ipykernel on real sshd hosts (issue 23): IRkernel and bash_kernel
through the same launcher, driven through a real Jupyter Server's REST + websocket API."""

from __future__ import annotations

from ..any_kernel import BASH, R, lifecycle, require_kernels
from ..kernels import write_kernelspec
from ..ssh_helpers import ssh_spec


def host_processes(host):
    """What runs on ``host`` besides sshd and the server's host agent: the launcher, the
    kernel and anything the kernel started (bash_kernel's shell), from its process table."""

    def processes(kernel_id: str) -> list[tuple[int, str]]:
        return [(pid, cmd) for pid, cmd in host.processes(exclude_sshd=True)
                if "jrk-agent" not in cmd]

    return processes


async def test_irkernel_on_an_ssh_host(jp_fetch, jp_ws_fetch, jp_kernel_dir, ssh_bed, no_blocking):
    require_kernels()
    host = ssh_bed.hosts[0]
    spec = {**ssh_spec(ssh_bed, hosts=[host], kernel_argv=R.argv), "language": "R"}
    write_kernelspec(jp_kernel_dir, "r-ssh", spec)
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
