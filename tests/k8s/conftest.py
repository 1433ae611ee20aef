"""The Kubernetes tests share one real cluster (``k8s_cluster``, session scope).

When Debian's parts, root or the built binaries and images are missing, the tests that use
the cluster skip naming what to install or build, and FAIL under ``JRK_REQUIRE_REAL=1`` (CI,
whose ``.ci/run`` builds them first).
"""

from __future__ import annotations

from testing.k8scluster import K8sClusterError, K8sTestCluster, missing

from ..real_cluster import real_cluster_fixture
from ..requirements import require

__all__ = ["k8s_cluster"]

#: Run before any test that starts the shared cluster: it checks that the host is restored
#: exactly (sysctls included) when the last cluster stops.
FIRST = ("test_cli_up_and_down_leave_nothing", "test_a_killed_owners_cluster_is_reaped")


def pytest_collection_modifyitems(session, config, items):
    first = [i for i in items if i.name in FIRST]
    if first:
        rest = [i for i in items if i.name not in FIRST]
        k8s = [n for n, i in enumerate(rest) if "tests/k8s/" in str(i.path).replace("\\", "/")]
        at = k8s[0] if k8s else len(rest)
        items[:] = rest[:at] + first + rest[at:]


def _check() -> None:
    gaps = missing()
    require(not gaps, "the real Kubernetes test cluster's parts", "; ".join(gaps))


k8s_cluster = real_cluster_fixture(
    "k8s_cluster",
    K8sTestCluster,
    K8sClusterError,
    _check,
    "Kubernetes test cluster",
    """A started single-node cluster shared by the session (node Ready, default
    ServiceAccount made). Tests delete the pods they made; the session's end stops it.""",
)
