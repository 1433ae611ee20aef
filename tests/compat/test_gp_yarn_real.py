"""gateway_provisioners' YARN kernelspec and real launcher on the real YARN cluster.

The kernelspec is written by GP's own ``jupyter-yarn-spec install`` and left as GP wrote it
but for what its installer cannot know about this cluster (Spark settings, HADOOP_CONF_DIR,
where GP's launcher finds its own imports); this package's yarn provisioner places it, with
``allow_legacy_launchers``. Spark's real AM registers only once GP's launcher creates a
SparkContext, so the spec uses GP's ``lazy`` mode. Restart and delete are timed against
this package's own Spark template on the same cluster, in the same run.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import time
from pathlib import Path

from testing.yarncluster import spark_home

from ..gp import RATIO, SLACK, gp_dir, install_spec
from ..kernels import ws_execute
from ..server_process import ServerProcess
from ..yarn_helpers import (
    FINAL,
    LAUNCH_TIMEOUT,
    SPARK_READY,
    assert_ended,
    install_spark_spec,
    interrupt_sleep,
    leftovers,
    start_kernel,
)


def gp_yarn_spec(yarn, tmp_path: Path, data: Path) -> None:
    folder = gp_dir()
    prefix = tmp_path / "gp"
    scripts = prefix / "share" / "jupyter" / "kernels" / "gp_yarn" / "scripts"
    # GP's launcher's own imports (pycryptodomex, psutil) come from GP's folder.
    extra = yarn.kernelspec_spark_opts(**{"spark.yarn.appMasterEnv.PYTHONPATH": str(folder)})
    spec_dir = install_spec(
        folder, "yarn", prefix, "gp_yarn",
        "--spark-home", str(spark_home()), "--python-root", sys.prefix,
        "--spark-init-mode", "lazy", "--launch-timeout", str(LAUNCH_TIMEOUT),
        "--extra-spark-opts", f"--py-files {scripts / 'server_listener.py'} {extra}",
    )  # fmt: skip
    spec = json.loads((spec_dir / "kernel.json").read_text())
    assert spec["metadata"]["kernel_provisioner"]["provisioner_name"] == "yarn-provisioner"
    spec["env"].update(HADOOP_CONF_DIR=str(yarn.hadoop_conf_dir), JAVA_HOME=str(yarn.java_home))
    # A copy in the server's path: the original stays where --py-files points.
    target = data / "kernels" / "gp_yarn"
    shutil.copytree(spec_dir, target)
    (target / "kernel.json").write_text(json.dumps(spec, indent=1))


def test_gp_launcher_on_the_real_cluster(yarn_cluster, tmp_path):
    data = tmp_path / "data"
    gp_yarn_spec(yarn_cluster, tmp_path, data)
    install_spark_spec(yarn_cluster, tmp_path, "ours")
    server = ServerProcess(
        tmp_path,
        token="gp-yarn-real",
        extra_args=[
            "--ResponseListener.allow_legacy_launchers=True",
            f"--YarnProvisioner.yarn_endpoint={yarn_cluster.rm_url}",
            "--YarnProvisioner.yarn_poll_interval=0.5",
        ],
    ).start(timeout=60)
    timings: dict = {}
    try:
        for name in ("gp_yarn", "ours"):
            model = start_kernel(server, name)
            kernel_id, app_id = model["id"], model["placement"]["details"]["app_id"]
            assert model["placement"]["kind"] == "yarn", model
            assert kernel_id in yarn_cluster.app(app_id)["applicationTags"].split(",")
            assert ws_execute(server, kernel_id, "x = 1; print(x)", timeout=120) == "1\n"
            # The SparkContext first (lazy mode makes it in the background; it installs
            # Spark's SIGINT handler): an interrupt then meets only the user's code.
            out = ws_execute(server, kernel_id, SPARK_READY, timeout=LAUNCH_TIMEOUT)
            assert out.rstrip().endswith("1000"), out  # (Spark may warn on stderr first)
            # GP's launcher sometimes lets an interrupt pass on the real cluster: its
            # listener logs `got request: {'signum': 2}` (our provisioner delivered it), but
            # the kernel sleeps on (seen in 2 of 4 clean CI runs, always in this first test
            # on a fresh cluster; never with our launcher, which tests/yarn/test_yarn_real.py
            # interrupts once). GP's kernel gets a second one, as a user would press again.
            interrupts = 3 if name == "gp_yarn" else 1
            reply = interrupt_sleep(server, kernel_id, interrupts=interrupts)
            print(f"{name}: interrupted after {reply['interrupts_sent']} interrupt(s)")
            assert reply["ename"] == "KeyboardInterrupt", reply
            began = time.monotonic()
            r = server.request("POST", f"/api/kernels/{kernel_id}/restart", timeout=400)
            assert r.status_code == 200, r.text
            restart = time.monotonic() - began
            assert_ended(yarn_cluster, app_id)
            second = server.request("GET", f"/api/kernels/{kernel_id}").json()["placement"]
            assert second["details"]["app_id"] != app_id
            assert ws_execute(server, kernel_id, "print('x' in dir())", timeout=120) == "False\n"
            began = time.monotonic()
            assert server.request("DELETE", f"/api/kernels/{kernel_id}").status_code == 204
            delete = time.monotonic() - began
            assert yarn_cluster.app(second["details"]["app_id"])["state"] in FINAL
            assert not leftovers(yarn_cluster)
            timings[name] = {"restart": round(restart, 2), "delete": round(delete, 2)}
        print(f"real YARN restart/delete s: {timings}")
        for step in ("restart", "delete"):
            assert timings["gp_yarn"][step] <= RATIO * timings["ours"][step] + SLACK, timings
        # A server stop ends a GP-launched kernel too.
        model = start_kernel(server, "gp_yarn")
        server.stop(signal.SIGTERM, timeout=120)
        assert_ended(yarn_cluster, model["placement"]["details"]["app_id"])
        assert not leftovers(yarn_cluster)
    finally:
        server.stop(signal.SIGTERM, timeout=120)
        yarn_cluster.clear()
