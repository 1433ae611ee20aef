"""Pytest fixture for the real YARN cluster (testing/yarncluster).

Use it as a plugin: ``pytest_plugins = [..., "tests.conftest_yarncluster"]`` in the root
conftest, or import ``yarn_cluster`` into a test module.

The cluster has its own 2-host SSH test bed rather than the session's ``ssh_bed``: SSH tests
stop and restart ``ssh_bed``'s hosts, and a host stop kills every process in its namespace,
the NodeManager included. ``yarn_cluster.bed`` is that bed (ssh, host.run, host.pids).

After every test that uses the cluster, :func:`_nothing_left_on_the_yarn_cluster` asks the
RM for every live application and looks for container and client processes (run.sh,
spark-submit) in the process table: anything left FAILS the test (an error at teardown),
then is cleaned up so that the next test starts on an empty cluster.

When Java, Maven (for the first fetch of Hadoop's jars), pyspark, sshd or network
namespaces are missing, the tests that use the cluster FAIL with what to install; they
never skip.
"""

from __future__ import annotations

import pytest

from testing.yarncluster import YarnClusterError, YarnTestCluster, require

from .real_cluster import real_cluster_fixture

__all__ = ["check_nothing_left", "yarn_cluster"]

# seconds an application, container or client process gets to finish ending after a test
LEFTOVER_GRACE = 30.0

yarn_cluster = real_cluster_fixture(
    "yarn_cluster",
    YarnTestCluster,
    YarnClusterError,
    lambda: require(fetch=True),
    "YARN test cluster",
    """A started real YARN cluster shared by the session (ResourceManager + one
    NodeManager per bed host, queues ``default``, ``small`` and ``one``); stopped at the end of the
    session with every JVM and container process gone. Tests that stop a NodeManager
    (``stop_nodemanager``) must ``start_nodemanager`` it again.""",
)


def check_nothing_left(cluster: YarnTestCluster, grace: float = LEFTOVER_GRACE) -> None:
    """Fail (``pytest.fail``) on any application the RM still shows alive (NEW ... RUNNING:
    an extra submission waiting ACCEPTED has no container, so only the RM shows it), any
    container process and any client process of the cluster (a kernelspec's run.sh,
    spark-submit) on this machine or the bed hosts, after ``grace`` seconds; in any case
    kill them (``clear()``) first, so the next test does not inherit them."""
    left = cluster.leftovers(grace=grace)
    cluster.clear()
    if any(left.values()):
        lines = [f"  {what}: {item}" for what, items in left.items() for item in items]
        pytest.fail(
            f"left on the real YARN cluster {grace:.0f} s after the test (now killed):\n"
            + "\n".join(lines),
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def _nothing_left_on_the_yarn_cluster(request):
    """After a test that uses ``yarn_cluster`` (and after its own fixtures, e.g. its server,
    are torn down): :func:`check_nothing_left`."""
    if "yarn_cluster" not in request.fixturenames:
        yield
        return
    cluster = request.getfixturevalue("yarn_cluster")
    yield
    check_nothing_left(cluster)
