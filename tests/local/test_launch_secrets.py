"""Secrets of SSH and YARN launches, and of their restarts, in no argv and no leftover file.

Each launch (and each restart: a new launch with a new launch secret) is checked against
its real secret values, read from the kernel manager: the argv of every process on this
machine (the SSH bed's hosts and the YARN emulator's containers share its PID space) while
the kernel runs, and every file under the places the launch writes to (the temporary
folder the test gives the server and the SSH hosts, the YARN emulator's work folder, the
runtime folder) after the kernel is shut down. ``tests/local/test_security.py`` does the
same for local launches.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from testing.yarn_emulator.spark_submit import install_fake_spark, install_spark_kernelspec

from ..kernels import (
    KernelSession,
    pids_mentioning,
    wait_until,
    write_kernelspec,
)
from ..secret_search import files_containing, launch_secrets, secrets_in_argv
from ..ssh_helpers import post_kernel, ssh_spec
from ..yarn_helpers import POLL, app_of, start

REPO = Path(__file__).resolve().parents[2]


async def start_restart_stop(jp_fetch, jp_ws_fetch, km, kernel_id) -> dict[str, bytes]:
    """Check argv during the first launch and the restart's; both launches' secrets."""
    first = await launch_secrets(km)
    assert pids_mentioning(kernel_id)  # the launch's processes are there to look at
    assert secrets_in_argv(first) == []
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("print(1 + 1)"))["stdout"] == "2\n"
    session.close()
    await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
    second = await launch_secrets(km)
    assert second["launch secret"] != first["launch secret"]
    secrets = {
        **{f"first {k}": v for k, v in first.items()},
        **{f"restart's {k}": v for k, v in second.items()},
    }
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("print(2 + 2)"))["stdout"] == "4\n"
    session.close()
    assert pids_mentioning(kernel_id)
    assert secrets_in_argv(secrets) == []
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert await wait_until(lambda: not pids_mentioning(kernel_id), timeout=10)
    return secrets


async def test_ssh_launch_secrets(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, jp_serverapp, jp_runtime_dir, ssh_bed, own_tmpdir
):
    write_kernelspec(jp_kernel_dir, "ssh-secrets", ssh_spec(ssh_bed))
    model = await post_kernel(jp_fetch, "ssh-secrets")
    assert model["placement"]["kind"] == "ssh" and model["placement"]["phase"] == "ready"
    kernel_id = model["id"]
    km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    secrets = await start_restart_stop(jp_fetch, jp_ws_fetch, km, kernel_id)
    # The hosts' temporary folders are in the bed's work folder (testing.sshbed).
    roots = [ssh_bed.workdir, own_tmpdir, Path(jp_runtime_dir)]
    assert await asyncio.to_thread(files_containing, secrets, roots) == []


async def test_yarn_spark_launch_secrets(
    yarn_rm, jp_fetch, jp_ws_fetch, kernels_dir, jp_serverapp, jp_runtime_dir, tmp_path, own_tmpdir
):
    """The yarn_spark template: run.sh, spark-submit, the RM, the AM container."""
    spark = install_fake_spark(tmp_path, yarn_rm.url, REPO)
    await asyncio.to_thread(
        install_spark_kernelspec, kernels_dir, "yarn-spark", yarn_rm.url, spark, POLL
    )
    model = await start(jp_fetch, "yarn-spark")
    kernel_id, app_id = model["id"], model["placement"]["details"]["app_id"]
    km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    secrets = await start_restart_stop(jp_fetch, jp_ws_fetch, km, kernel_id)
    assert app_of(yarn_rm, app_id)["state"] == "KILLED"
    # tmp_path holds own_tmpdir and the emulator's work folder (containers, their logs)
    roots = [tmp_path, Path(jp_runtime_dir)]
    assert await asyncio.to_thread(files_containing, secrets, roots) == []
