"""Spark on the real YARN test cluster: Spark settings, spark-submit's argv and
environment, and a kernelspec installed for the cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Optional, Union

from .deps import YarnClusterError, ensure_spark_archive, java_home, spark_home


class SparkMixin:
    """The Spark helpers of :class:`~.cluster.YarnTestCluster`."""

    def spark_conf(self, jars: str = "local", **extra) -> dict:
        """Spark settings for this cluster: small memory, one executor, and Spark's jars
        without a per-submit upload: ``jars="local"`` (default) points
        ``spark.yarn.jars`` at pyspark's jars folder with the ``local:`` scheme (the hosts
        share this disk: nothing is copied or localized); ``jars="archive"`` uses the
        prepared zip (:func:`ensure_spark_archive`) as ``spark.yarn.archive`` (spark-submit
        still copies a ``file:`` archive to the staging dir, and each NM unpacks it per
        application)."""
        if jars == "local":
            libs = {"spark.yarn.jars": f"local:{spark_home() / 'jars'}/*"}
        elif jars == "archive":
            libs = {"spark.yarn.archive": f"file://{ensure_spark_archive()}"}
        else:
            msg = f"jars={jars!r}: use 'local' or 'archive'"
            raise ValueError(msg)
        conf = {
            **libs,
            "spark.yarn.stagingDir": f"file://{self.workdir / 'staging'}",
            "spark.driver.memory": "512m",
            "spark.executor.memory": "512m",
            "spark.yarn.am.memory": "512m",
            "spark.executor.instances": "1",
            "spark.executor.cores": "1",
            "spark.dynamicAllocation.enabled": "false",
            "spark.yarn.submit.waitAppCompletion": "false",
            "spark.ui.enabled": "false",
        }
        conf.update(extra)
        return conf

    def spark_env(self, **extra) -> dict:
        """Environment for spark-submit (a copy of os.environ plus these)."""
        env = dict(os.environ)
        env.update({
            "SPARK_HOME": str(spark_home()),
            "HADOOP_CONF_DIR": str(self.hadoop_conf_dir),
            "YARN_CONF_DIR": str(self.hadoop_conf_dir),
            "JAVA_HOME": str(self.java_home or java_home()),
            "PYSPARK_PYTHON": sys.executable,  # the tests' Python (a venv's too)
        })
        env.pop("SPARK_CONF_DIR", None)
        env.update(extra)
        return env

    def kernelspec_spark_opts(self, **extra: str) -> str:
        """This cluster's Spark settings as the ``--conf K=V ...`` options a kernelspec's
        SPARK_OPTS carries (without waitAppCompletion, which the templates set)."""
        conf = self.spark_conf(**extra)
        conf.pop("spark.yarn.submit.waitAppCompletion")
        return " ".join(f"--conf {k}={v}" for k, v in conf.items())

    def install_spark_kernelspec(self, prefix: Path, name: str, *,
                                 endpoint: Optional[str] = None, queue: str = "default",
                                 python: str = sys.executable,
                                 launch_timeout: float = 300) -> Path:
        """``jupyter remote-kernels install yarn`` for this cluster, as an admin runs it
        (the shipped Spark template, this cluster's Spark settings); returns the installed
        kernelspec's folder under ``prefix``. ``endpoint``: the RM web address the server
        uses (default: the RM's own)."""
        args = [
            "install", "yarn", "--prefix", str(prefix), "--name", name,
            "--endpoint", endpoint or self.rm_url, "--spark-home", str(spark_home()),
            "--spark-opts", self.kernelspec_spark_opts(),
            "--python", python, "--queue", queue, "--launch-timeout", str(launch_timeout),
            "--env", f"HADOOP_CONF_DIR={self.hadoop_conf_dir}",
            "--env", f"JAVA_HOME={self.java_home or java_home()}",
        ]
        done = subprocess.run([sys.executable, "-m", "jupyter_remote_kernels.cli", *args],
                              capture_output=True, text=True, timeout=120, check=False)
        if done.returncode:
            msg = f"jupyter remote-kernels install yarn failed: {done.stderr.strip()[-600:]}"
            raise YarnClusterError(msg)
        return prefix / "share" / "jupyter" / "kernels" / name

    def spark_submit_argv(self, app: Union[str, Path], *app_args: str,
                          name: str = "jrk-test", queue: str = "default",
                          tags: Iterable[str] = (), conf: Optional[dict] = None,
                          jars: str = "local") -> list[str]:
        """argv of ``spark-submit --master yarn --deploy-mode cluster`` for `app`."""
        argv = [str(spark_home() / "bin" / "spark-submit"), "--master", "yarn",
                "--deploy-mode", "cluster", "--name", name, "--queue", queue]
        settings = self.spark_conf(jars, **(conf or {}))
        tags = list(tags)
        if tags:
            settings["spark.yarn.tags"] = ",".join(tags)
        for key, value in settings.items():
            argv += ["--conf", f"{key}={value}"]
        return [*argv, str(app), *app_args]
