"""``jupyter remote-kernels install yarn``: the fields of the YARN (Spark) template.

    jupyter remote-kernels install yarn --endpoint http://rm1:8088 [--alt-endpoint URL]...
        [--queue Q] --spark-home DIR [--spark-opts "..."] [--python P]

It installs the ``yarn_spark`` template: its ``bin/run.sh`` calls ``spark-submit --master
yarn --deploy-mode cluster`` with the launcher as the application's primary file. There is
no generic (non-Spark) template: the only generic ApplicationMaster clusters ship, YARN's
distributed shell, takes a container's environment on its command line (``-shell_env``,
passed on to the AM's argv), where the per-kernel secret would be visible to every user of
the server and the node. Every value is checked before anything is written.
"""

from __future__ import annotations

import os
import re
from typing import Any

from traitlets import List, Unicode

from ..backends import BackendError, InstallOptions
from .endpoints import check_endpoint

__all__ = ["YarnInstallOptions", "eg_config"]


class YarnInstallOptions(InstallOptions):
    """``install yarn`` options: the ResourceManager, the queue, spark-submit."""

    endpoint = Unicode("", config=True, help="yarn: ResourceManager address http://rm:8088.")
    alt_endpoint = List(Unicode(), [], config=True, help="yarn: further (HA) RM addresses.")
    queue = Unicode("default", config=True, help="yarn: the YARN queue of the kernels.")
    spark_home = Unicode("", config=True, help="yarn: SPARK_HOME for spark-submit.")
    spark_opts = Unicode("", config=True, help="yarn: further spark-submit options.")

    def fields(self, app: Any) -> dict[str, Any]:
        """The ``@@FIELD@@`` values of the YARN template; ``app``: the common options."""
        if not self.endpoint:
            msg = "install yarn needs --endpoint, the ResourceManager's web address (http://rm:8088)"
            raise BackendError(msg)
        try:
            endpoint = check_endpoint(self.endpoint)
            alt = [check_endpoint(url) for url in self.alt_endpoint]
        except ValueError as exc:
            raise BackendError(str(exc)) from None
        if not self.queue.strip() or "," in self.queue:
            msg = f"--queue must name one YARN queue, not {self.queue!r}"
            raise BackendError(msg)
        spark_home = self.spark_home or os.environ.get("SPARK_HOME", "")
        if not spark_home:
            msg = (
                "install yarn needs --spark-home DIR (or $SPARK_HOME): kernels run in YARN "
                "cluster mode through spark-submit (`pip install pyspark` brings one: its "
                "package folder is a SPARK_HOME)"
            )
            raise BackendError(msg)
        if not os.access(os.path.join(spark_home, "bin", "spark-submit"), os.X_OK):
            msg = f"--spark-home {spark_home!r}: no executable bin/spark-submit there"
            raise BackendError(msg)
        return {
            "ENDPOINT": endpoint,
            "ALT_ENDPOINTS": alt,
            "QUEUE": self.queue.strip(),
            "REMOTE_PYTHON": app.python,
            "SPARK_HOME": spark_home,
            "SPARK_OPTS": self.spark_opts,
            "DISPLAY_NAME": app.display_name or f"{app.kernel_label} (YARN cluster, Spark)",
        }


def eg_config(config: dict[str, Any]) -> dict[str, Any]:
    """EG's and GP's YARN keys as ours (order kept): ``alt_yarn_endpoint`` (one URL)."""
    result = {}
    for key, value in config.items():
        if key == "alt_yarn_endpoint":
            result["alt_yarn_endpoints"] = [value] if isinstance(value, str) else value
        else:
            result[key] = value
    return result


#: SPARK_OPTS options of EG's YARN specs that the template's run.sh sets itself (EG's run.sh
#: evals SPARK_OPTS, ours splits it on spaces: ``${KERNEL_ID:-...}`` would stay literal).
_RUN_SH_OWN = re.compile(
    r"--(master|deploy-mode|name)\s+\S+|--conf\s+spark\.yarn\.(submit\.waitAppCompletion|"
    r"maxAppAttempts)=\S+|\$\{KERNEL_EXTRA_SPARK_OPTS\}"
)


def eg_env(env: dict[str, str]) -> dict[str, str]:
    """EG's YARN ``env`` for this package's run.sh: ``SPARK_OPTS`` without what run.sh sets
    (master, deploy mode, name, waitAppCompletion, maxAppAttempts, the request's
    ``KERNEL_EXTRA_SPARK_OPTS``, which run.sh adds itself)."""
    result = dict(env)
    if "SPARK_OPTS" in result:
        result["SPARK_OPTS"] = " ".join(_RUN_SH_OWN.sub(" ", result["SPARK_OPTS"]).split())
    return result
