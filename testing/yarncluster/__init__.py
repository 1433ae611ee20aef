"""A real Apache Hadoop YARN cluster (ResourceManager + NodeManagers in the SSH test bed's
network-namespace hosts) for tests and benchmarks. See :mod:`testing.yarncluster.cluster`;
``python -m testing.yarncluster up|down|status|fetch`` runs it by hand."""

from .cluster import YarnTestCluster
from .deps import (
    HADOOP_VERSION,
    YarnClusterError,
    ensure_hadoop,
    ensure_spark_archive,
    hadoop_lib_dir,
    mvn_command,
    require,
    spark_home,
)
from .procs import cleanup_stale, recorded_clusters

__all__ = [
    "HADOOP_VERSION",
    "YarnClusterError",
    "YarnTestCluster",
    "cleanup_stale",
    "ensure_hadoop",
    "ensure_spark_archive",
    "hadoop_lib_dir",
    "mvn_command",
    "recorded_clusters",
    "require",
    "spark_home",
]
