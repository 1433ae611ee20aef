"""The YARN parts of ``jupyter remote-kernels``: ``install yarn`` fields and ``check NAME``.

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
from typing import Any

from .errors import YarnError
from .yarn_client import YarnClient

__all__ = ["check_yarn_spec", "yarn_fields"]


class YarnCLIError(Exception):
    """A bad or missing install value (the CLI prints it and exits 2)."""


def yarn_fields(app: Any) -> dict[str, Any]:
    """The ``@@FIELD@@`` values of the YARN template, from the install command's options."""
    from .provisioners.yarn import _check_endpoint

    if not app.yarn_endpoint:
        msg = "install yarn needs --endpoint, the ResourceManager's web address (http://rm:8088)"
        raise YarnCLIError(msg)
    try:
        endpoint = _check_endpoint(app.yarn_endpoint)
        alt = [_check_endpoint(url) for url in app.alt_endpoints]
    except ValueError as exc:
        raise YarnCLIError(str(exc)) from None
    if not app.queue.strip() or "," in app.queue:
        msg = f"--queue must name one YARN queue, not {app.queue!r}"
        raise YarnCLIError(msg)
    fields: dict[str, Any] = {
        "ENDPOINT": endpoint,
        "ALT_ENDPOINTS": alt,
        "QUEUE": app.queue.strip(),
        "REMOTE_PYTHON": app.python,
    }
    spark_home = app.spark_home or os.environ.get("SPARK_HOME", "")
    if not spark_home:
        msg = (
            "install yarn needs --spark-home DIR (or $SPARK_HOME): kernels run in YARN "
            "cluster mode through spark-submit (`pip install pyspark` brings one: its "
            "package folder is a SPARK_HOME)"
        )
        raise YarnCLIError(msg)
    if not os.access(os.path.join(spark_home, "bin", "spark-submit"), os.X_OK):
        msg = f"--spark-home {spark_home!r}: no executable bin/spark-submit there"
        raise YarnCLIError(msg)
    fields.update(
        SPARK_HOME=spark_home,
        SPARK_OPTS=app.spark_opts,
        DISPLAY_NAME=app.display_name or "Python 3 (YARN cluster, Spark)",
    )
    return fields


def check_yarn_spec(config: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """[(check, ok, detail or fix)] for a YARN kernelspec's ``process_proxy.config``."""
    from .provisioners.yarn import YarnProvisioner

    prov = YarnProvisioner(**config)
    results: list[tuple[str, bool, str]] = []
    try:
        endpoints = prov.endpoints()
    except YarnError as exc:
        return [("endpoint", False, str(exc))]
    settings = prov.client_settings()
    client = YarnClient(endpoints, **settings)
    for endpoint in endpoints:
        try:
            info = client.probe(endpoint)
            results.append(
                (
                    "reach",
                    True,
                    f"{endpoint}: {info.get('haState', 'ACTIVE')}, Hadoop "
                    f"{info.get('hadoopVersion', '?')}",
                )
            )
        except Exception as exc:
            fix = f"{endpoint} does not answer GET /ws/v1/cluster/info: {exc}"
            results.append(("reach", False, fix))
    try:
        active = client.connect()
    except YarnError as exc:
        return [*results, ("ha", False, str(exc))]
    results.append(("ha", True, f"active ResourceManager: {active}"))
    try:
        queue = client.queue(prov.yarn_queue)
    except YarnError as exc:
        queue, error = None, str(exc)
    else:
        error = f"queue {prov.yarn_queue!r} does not exist; set yarn_queue"
    if queue is None:
        results.append(("queue", False, error))
    else:
        used = queue.get("usedCapacity", "?")
        active_apps = queue.get("numActiveApplications", "?")
        limit = queue.get("maxActiveApplications", "?")
        pending = queue.get("numPendingApplications", 0)
        ok = not pending
        detail = (
            f"{prov.yarn_queue}: {used}% used, {active_apps}/{limit} applications running, "
            f"{pending} waiting" + ("" if ok else " (new kernels will queue)")
        )
        results.append(("queue", ok, detail))
    try:
        client.new_application()
        results.append(("auth", True, f"{settings['auth']} auth as {settings['user']} accepted"))
    except YarnError as exc:
        results.append(("auth", False, str(exc)))
    client.close()
    return results


def run_check(name: str, config: dict[str, Any]) -> int:
    """Print the checks of YARN kernelspec ``name``; the exit status (0: all fine)."""
    print(f"{name} (YARN):")
    failed = False
    for check, ok, detail in check_yarn_spec(config):
        failed = failed or not ok
        print(f"  {'ok  ' if ok else 'FAIL'} {check:<10} {detail}")
    return 1 if failed else 0
