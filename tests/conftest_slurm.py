"""Pytest fixture for the real Slurm cluster (testing/slurmcluster).

Registered as a plugin in tests/conftest.py (``pytest_plugins``).

The cluster has its own 2-host SSH test bed rather than the session's ``ssh_bed``: SSH tests
stop and restart ``ssh_bed``'s hosts, and a host stop kills every process in its namespace,
the slurmd included. ``slurm_cluster.bed`` is that bed (ssh, host.run, host.processes).

When the Slurm packages, munge, sshd, root or network namespaces are missing, the tests that
use the cluster skip naming what to install, and FAIL under ``JRK_REQUIRE_REAL=1`` (CI).
"""

from __future__ import annotations

from testing.slurmcluster import SlurmClusterError, SlurmTestCluster, missing

from .real_cluster import real_cluster_fixture
from .requirements import require

__all__ = ["slurm_cluster"]


def _check() -> None:
    gaps = missing()
    require(not gaps, "the real Slurm test cluster's parts", "; ".join(gaps))


slurm_cluster = real_cluster_fixture(
    "slurm_cluster",
    SlurmTestCluster,
    SlurmClusterError,
    _check,
    "Slurm test cluster",
    """A started real Slurm cluster shared by the session: munged + slurmctld here, one
    slurmd (1 CPU) per bed host, partitions ``debug`` (default) and ``short``. Stopped at the
    end of the session with every daemon and job process gone. Tests call
    ``slurm_cluster.clear()`` when done with their jobs; a test that stops a node
    (``stop_node``) must ``start_node`` it again.""",
)
