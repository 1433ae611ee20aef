"""An IRkernel kernel in a container of the real YARN cluster (issue 23), through the
test's own Jupyter Server: the shipped Spark template with IRkernel's command.

spark-submit runs the launcher as the application's driver in the application master's
container; the launcher starts R there and itself holds the SparkSession that makes the AM
register with YARN (pip's pyspark ships no SparkR, so R gets no session of its own). What is
left is read from the RM and the hosts' process tables.
"""

from __future__ import annotations

import json
import shutil

import pytest

from ..any_kernel import R, lifecycle, require_kernels
from ..kernels import wait_until
from ..yarn_helpers import LAUNCH_TIMEOUT

pytestmark = pytest.mark.timeout(900)


async def test_irkernel_in_a_yarn_container(jp_fetch, jp_ws_fetch, jp_kernel_dir, yarn_cluster,
                                            tmp_path):
    require_kernels()
    source = yarn_cluster.install_spark_kernelspec(tmp_path / "prefix", "r-yarn",
                                                   launch_timeout=LAUNCH_TIMEOUT)
    folder = shutil.copytree(source, jp_kernel_dir / "r-yarn")
    spec = json.loads((folder / "kernel.json").read_text())
    spec["language"] = "R"
    config = spec["metadata"]["process_proxy"]["config"]
    config.update(kernel_argv=R.argv, yarn_poll_interval=0.5)
    (folder / "kernel.json").write_text(json.dumps(spec))

    def processes(kernel_id: str) -> list[tuple[int, str]]:
        """Container processes on the hosts and the kernel's live applications in the RM."""
        apps = [(0, f"{a['id']} {a['state']}") for a in yarn_cluster.live_apps()
                if kernel_id in a.get("applicationTags", "").split(",")]
        return yarn_cluster.container_processes() + apps

    async def registered(model: dict) -> None:
        """The AM registers (RUNNING): the launcher's SparkSession, as for a Python kernel."""
        app_id = model["placement"]["details"]["app_id"]
        assert await wait_until(lambda: yarn_cluster.app(app_id)["state"] == "RUNNING", 120,
                                interval=1), yarn_cluster.app(app_id)

    model = await lifecycle(jp_fetch, jp_ws_fetch, "r-yarn", R, processes,
                            timeout=LAUNCH_TIMEOUT + 60, gone_within=60,
                            while_running=registered)
    app = yarn_cluster.app(model["placement"]["details"]["app_id"])
    assert app["state"] in ("FINISHED", "KILLED"), app
    placement = model["placement"]
    assert placement["kind"] == "yarn" and placement["details"]["app_id"].startswith("application_")
    assert placement["host"] in {h.hostname for h in yarn_cluster.hosts}, placement
