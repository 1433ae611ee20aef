"""``jupyter remote-kernels check NAME`` for a YARN kernelspec: RM, HA, queue and auth; with
``kernel_argv``, the kernel's command on a NodeManager (:mod:`.check_kernel`)."""

from __future__ import annotations

from typing import Any

from ..backends import print_checks
from .check_kernel import check_kernel_command
from .client import YarnClient
from .errors import YarnError
from .provisioner import YarnProvisioner

__all__ = ["check_yarn_spec", "run_check"]


def check_yarn_spec(config: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """[(check, ok, detail or fix)] for a YARN kernelspec's ``process_proxy.config``."""
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
    else:
        if prov.kernel_argv:  # a kernel of its own command: it must be on the NodeManagers
            results.append(check_kernel_command(client, list(prov.kernel_argv), prov.yarn_queue,
                                                min(prov.launch_timeout, 120.0)))
    client.close()
    return results


def run_check(name: str, config: dict[str, Any], argv: list[str]) -> int:
    """Print the checks of YARN kernelspec ``name``; the exit status (0: all fine)."""
    print(f"{name} (YARN):")
    return 1 if print_checks(check_yarn_spec(config)) else 0
