"""Pytest fixture for the real YARN cluster (testing/yarncluster).

Use it as a plugin: ``pytest_plugins = [..., "tests.conftest_yarncluster"]`` in the root
conftest, or import ``yarn_cluster`` into a test module.

The cluster has its own 2-host SSH test bed rather than the session's ``ssh_bed``: SSH tests
stop and restart ``ssh_bed``'s hosts, and a host stop kills every process in its namespace,
the NodeManager included. ``yarn_cluster.bed`` is that bed (ssh, host.run, host.pids).

When Java, Maven (for the first fetch of Hadoop's jars), pyspark, sshd or network
namespaces are missing, the tests that use the cluster FAIL with what to install; they
never skip.
"""

from __future__ import annotations

from testing.yarncluster import YarnClusterError, YarnTestCluster, require

from .real_cluster import real_cluster_fixture

__all__ = ["yarn_cluster"]

yarn_cluster = real_cluster_fixture(
    "yarn_cluster",
    YarnTestCluster,
    YarnClusterError,
    lambda: require(fetch=True),
    "YARN test cluster",
    """A started real YARN cluster shared by the session (ResourceManager + one
    NodeManager per bed host, queues ``default`` and ``small``); stopped at the end of the
    session with every JVM and container process gone. Tests that stop a NodeManager
    (``stop_nodemanager``) must ``start_nodemanager`` it again.""",
)
