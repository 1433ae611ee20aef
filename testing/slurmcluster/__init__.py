"""A real Slurm cluster (slurmctld + one slurmd per network-namespace host of the SSH test
bed, one munged) for tests and benchmarks. See :mod:`testing.slurmcluster.cluster`;
``python -m testing.slurmcluster up|down|status`` runs it by hand."""

from .cluster import SlurmTestCluster
from .config import KILL_WAIT, MESSAGE_TIMEOUT, MIN_JOB_AGE, PARTITIONS, SLURMD_TIMEOUT
from .deps import SlurmClusterError, missing, require
from .procs import cleanup_stale, recorded_clusters, running

__all__ = [
    "KILL_WAIT",
    "MESSAGE_TIMEOUT",
    "MIN_JOB_AGE",
    "PARTITIONS",
    "SLURMD_TIMEOUT",
    "SlurmClusterError",
    "SlurmTestCluster",
    "cleanup_stale",
    "missing",
    "recorded_clusters",
    "require",
    "running",
]
