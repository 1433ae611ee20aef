"""An IRkernel kernel as a job on the real Slurm cluster (issue 23), through the test's own
Jupyter Server: the same launcher in the batch script starts R instead of ipykernel."""

from __future__ import annotations

import pytest

from testing.specs import slurm_spec, write_kernelspec

from ..any_kernel import R, lifecycle, require_kernels

pytestmark = pytest.mark.timeout(600)


async def test_irkernel_as_a_slurm_job(jp_fetch, jp_ws_fetch, jp_kernel_dir, slurm_cluster):
    require_kernels()
    spec = {**slurm_spec(slurm_cluster, kernel_argv=R.argv), "language": "R"}
    write_kernelspec(jp_kernel_dir, "r-slurm", spec)

    def processes(kernel_id: str) -> list[tuple[int, str]]:
        """Every job process on the nodes (slurmstepd, the batch script, launcher, R) and
        each job of the kernel squeue still shows."""
        jobs = [(0, f"job {j['id']} {j['state']}") for j in slurm_cluster.jobs()
                if j["name"] == kernel_id]
        return slurm_cluster.all_node_processes() + jobs

    model = await lifecycle(jp_fetch, jp_ws_fetch, "r-slurm", R, processes, timeout=200)
    assert model["placement"]["kind"] == "slurm"
    assert model["placement"]["host"] in slurm_cluster.node_names
