"""An IRkernel kernel in a container of the real YARN cluster (issue 23), through the
test's own Jupyter Server: Enterprise Gateway's R YARN spec, migrated to the Spark template
with IRkernel's command.

spark-submit runs the launcher as the application's driver in the application master's
container; the launcher starts R there and itself holds the SparkSession that makes the AM
register with YARN (pip's pyspark ships no SparkR, so R gets no session of its own). What is
left is read from the RM and the hosts' process tables.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys

import pytest

from testing.eg_itests import extract_files

from ..any_kernel import R, lifecycle, require_kernels
from ..kernels import cli, wait_until
from ..yarn_helpers import LAUNCH_TIMEOUT

pytestmark = pytest.mark.timeout(900)


async def test_irkernel_in_a_yarn_container(jp_fetch, jp_ws_fetch, jp_kernel_dir, yarn_cluster,
                                            tmp_path):
    """EG's released ``spark_R_yarn_cluster`` (its run.sh submits EG's launch_IRkernel.R),
    migrated, with this cluster's site settings (what an admin sets: SPARK_HOME, the
    cluster's Spark options, HADOOP_CONF_DIR, JAVA_HOME, the RM endpoint, taken from a spec
    ``install yarn`` made for it), runs IRkernel in the AM's container."""
    require_kernels()
    root = extract_files(tmp_path / "eg", "etc/kernelspecs/spark_R_yarn_cluster")
    folder = shutil.copytree(root / "etc/kernelspecs/spark_R_yarn_cluster",
                             jp_kernel_dir / "spark_R_yarn_cluster")
    done = await asyncio.to_thread(
        cli, "migrate", "spark_r_yarn_cluster",
        env=dict(os.environ, JUPYTER_PATH=str(jp_kernel_dir.parent)),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "class_name -> yarn" in done.stdout, done.stdout
    site = json.loads((yarn_cluster.install_spark_kernelspec(
        tmp_path / "prefix", "site", launch_timeout=LAUNCH_TIMEOUT) / "kernel.json").read_text())
    spec = json.loads((folder / "kernel.json").read_text())
    eg_opts = spec["env"]["SPARK_OPTS"]
    spec["env"].update(site["env"], SPARK_OPTS=f"{site['env']['SPARK_OPTS']} {eg_opts}")
    spec["metadata"]["process_proxy"]["config"].update(
        site["metadata"]["process_proxy"]["config"], yarn_poll_interval=0.5,
        launch_timeout=LAUNCH_TIMEOUT,
    )
    assert spec["metadata"]["process_proxy"]["config"]["kernel_argv"] == R.argv
    (folder / "kernel.json").write_text(json.dumps(spec))
    # check looks for R where the kernel will run: a probe AM on a NodeManager.
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "jupyter_remote_kernels.cli", "check",
                         "spark_r_yarn_cluster"],
        capture_output=True, text=True, check=False, timeout=300,
        env=dict(os.environ, JUPYTER_PATH=str(jp_kernel_dir.parent)),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok   kernel     R on NodeManager " in done.stdout, done.stdout
    assert not [a for a in yarn_cluster.live_apps() if "jupyter-remote-kernels-check"
                in a.get("applicationTags", "")], yarn_cluster.live_apps()  # fmt: skip

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

    model = await lifecycle(jp_fetch, jp_ws_fetch, "spark_r_yarn_cluster", R, processes,
                            timeout=LAUNCH_TIMEOUT + 60, gone_within=60,
                            while_running=registered)
    app = yarn_cluster.app(model["placement"]["details"]["app_id"])
    assert app["state"] in ("FINISHED", "KILLED"), app
    placement = model["placement"]
    assert placement["kind"] == "yarn" and placement["details"]["app_id"].startswith("application_")
    assert placement["host"] in {h.hostname for h in yarn_cluster.hosts}, placement
