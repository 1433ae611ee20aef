"""gateway_provisioners' YARN kernelspec and real launcher, in a YARN container.

The kernelspec is written by GP's own ``jupyter-yarn-spec install`` (GP not importable by
the server, see tests/gp.py) and placed by this package's yarn provisioner. Its ``run.sh``
runs ``spark-submit --master yarn --deploy-mode cluster`` with GP's ``launch_ipykernel.py``
as the primary file. Today that is the RM emulator's spark-submit and containers (real
processes, cluster-mode localisation: only the primary file, ``--py-files`` and ``--files``
reach the container); ``yarn_endpoint`` and ``SPARK_HOME`` are all that change for a real
cluster (see ``gp_yarn_spec``).
"""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from testing.yarn_emulator.spark_submit import install_fake_spark, install_spark_kernelspec

from ..gp import RATIO, SLACK, gp_dir, install_spec
from ..kernels import KernelSession, pids_mentioning, wait_until, write_kernelspec
from ..yarn_helpers import REPO, app_of, start


def gp_yarn_spec(tmp_path, spark_home) -> dict:
    """GP's jupyter-yarn-spec for this SPARK_HOME; the RM comes from the server's config.

    GP 0.5's ``jupyter-yarn-spec install --yarn-endpoint URL`` fails (an AttributeError it
    swallows, leaving kernel.json an unfilled template), so the endpoint is given as GP
    users give it to the server: here ``YarnProvisioner.yarn_endpoint`` (or
    $GP_YARN_ENDPOINT / $EG_YARN_ENDPOINT in the server's environment).

    GP's yarn_spark_python spec ships only launch_ipykernel.py to the container; its
    server_listener.py (which the launcher imports) and pycryptodomex have to be sent along,
    here with GP's own --extra-spark-opts. Spark init mode none: no SparkSession (no JVM).
    """
    folder = gp_dir()
    # GP's installer reads $SPARK_HOME/python/lib/py4j-*.zip and leaves its template
    # unfilled without one.
    (spark_home / "python" / "lib").mkdir(parents=True, exist_ok=True)
    (spark_home / "python" / "lib" / "py4j-0.10.9.7-src.zip").touch()
    prefix = tmp_path / "gp"
    scripts = prefix / "share" / "jupyter" / "kernels" / "gp_yarn" / "scripts"
    extra = (
        f"--py-files {scripts / 'server_listener.py'} "
        f"--conf spark.yarn.appMasterEnv.PYTHONPATH={folder}"
    )
    spec_dir = install_spec(
        folder,
        "yarn",
        prefix,
        "gp_yarn",
        "--spark-home",
        str(spark_home),
        "--python-root",
        sys.prefix,
        "--spark-init-mode",
        "none",
        "--extra-spark-opts",
        extra,
    )
    spec = json.loads((spec_dir / "kernel.json").read_text())
    stanza = spec["metadata"]["kernel_provisioner"]
    assert stanza["provisioner_name"] == "yarn-provisioner"
    assert "yarn_endpoint" not in stanza["config"]
    return spec


class TestGPLauncherInYarn:
    @pytest.fixture
    def jp_server_config(self, yarn_rm):
        return {
            "ServerApp": {"jpserver_extensions": {"jupyter_remote_kernels": True}},
            "ResponseListener": {"allow_legacy_launchers": True},
            "YarnProvisioner": {"yarn_poll_interval": 0.3, "yarn_endpoint": yarn_rm.url},
        }

    async def test_gp_yarn_spec_lifecycle(
        self, yarn_rm, jp_fetch, jp_ws_fetch, jp_kernel_dir, tmp_path
    ):
        spark = install_fake_spark(tmp_path, yarn_rm.url, REPO)
        spec = await asyncio.to_thread(gp_yarn_spec, tmp_path, spark)
        write_kernelspec(jp_kernel_dir, "gp_yarn", spec)
        await asyncio.to_thread(
            install_spark_kernelspec, jp_kernel_dir, "ours", yarn_rm.url, spark
        )

        timings = {}
        for name in ("gp_yarn", "ours"):
            model = await start(jp_fetch, name)
            kernel_id, app_id = model["id"], model["placement"]["details"]["app_id"]
            assert model["placement"]["kind"] == "yarn"
            assert model["placement"]["phase"] == "ready"
            app = app_of(yarn_rm, app_id)
            assert app["name"] == kernel_id and kernel_id in app["applicationTags"]
            if name == "gp_yarn":
                assert pids_mentioning("./launch_ipykernel.py --kernel-id " + kernel_id)
            session = await KernelSession.open(jp_ws_fetch, kernel_id)
            assert (await session.execute("x = 1; print(x)"))["stdout"] == "1\n"
            msg_id = await session.send_execute("import time; time.sleep(60)")
            await session.wait_started(msg_id)
            await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
            assert (await session.wait_reply(msg_id, 20))["ename"] == "KeyboardInterrupt"
            session.close()
            began = asyncio.get_running_loop().time()
            await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
            restart = asyncio.get_running_loop().time() - began
            assert app_of(yarn_rm, app_id)["state"] in ("KILLED", "FINISHED")
            new_app = json.loads((await jp_fetch("api", "kernels", kernel_id)).body)
            new_app_id = new_app["placement"]["details"]["app_id"]
            assert new_app_id != app_id
            session = await KernelSession.open(jp_ws_fetch, kernel_id)
            assert (await session.execute("print('x' in dir())"))["stdout"] == "False\n"
            session.close()
            began = asyncio.get_running_loop().time()
            await jp_fetch("api", "kernels", kernel_id, method="DELETE")
            assert await wait_until(lambda: not pids_mentioning(kernel_id), 10, 0.02)
            delete = asyncio.get_running_loop().time() - began
            assert app_of(yarn_rm, new_app_id)["state"] in ("KILLED", "FINISHED")
            timings[name] = {"restart": round(restart, 3), "delete": round(delete, 3)}
        print(f"YARN restart/delete s: {timings}")
        for step in ("restart", "delete"):
            assert timings["gp_yarn"][step] <= RATIO * timings["ours"][step] + SLACK, timings
