"""An IRkernel kernel as a job on the real Slurm cluster (issue 23), through the test's own
Jupyter Server: the same launcher in the batch script starts R instead of ipykernel."""

from __future__ import annotations

import asyncio
import json
import os
import shutil

import pytest

from ..any_kernel import R, lifecycle, require_kernels
from ..kernels import cli
from ..slurm_helpers import install_slurm_spec

pytestmark = pytest.mark.timeout(600)


async def test_irkernel_as_a_slurm_job(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, slurm_cluster, tmp_path
):
    """Installed by ``install slurm --kernel-argv ... --language R``; ``check`` finds R on a
    compute node (a test job); then the lifecycle."""
    require_kernels()
    options = ("--language", "R", "--kernel-argv", json.dumps(R.argv))
    folder = install_slurm_spec(slurm_cluster, tmp_path, "r-slurm", cli_options=options)
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path / "data"))
    done = await asyncio.to_thread(cli, "check", "r-slurm", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok   kernel     R on a compute node: /usr/bin/R" in done.stdout, done.stdout
    spec = json.loads((folder / "kernel.json").read_text())
    assert spec["language"] == "R" and spec["display_name"] == "R (Slurm, debug)", spec
    if folder != jp_kernel_dir / "r-slurm":  # (the same folder: both are tmp_path/data)
        shutil.copytree(folder, jp_kernel_dir / "r-slurm")

    def processes(kernel_id: str) -> list[tuple[int, str]]:
        """Every job process on the nodes (slurmstepd, the batch script, launcher, R) and
        each job of the kernel squeue still shows."""
        jobs = [(0, f"job {j['id']} {j['state']}") for j in slurm_cluster.jobs()
                if j["name"] == kernel_id]
        return slurm_cluster.all_node_processes() + jobs

    model = await lifecycle(jp_fetch, jp_ws_fetch, "r-slurm", R, processes, timeout=200)
    assert model["placement"]["kind"] == "slurm"
    assert model["placement"]["host"] in slurm_cluster.node_names
