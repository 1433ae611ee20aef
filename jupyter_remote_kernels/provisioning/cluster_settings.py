"""The settings every cluster backend's kernels share (each overridable per kernelspec in
``process_proxy.config``); a backend's own settings module declares only its own."""

from __future__ import annotations

from traitlets import Unicode
from traitlets.config import Configurable

__all__ = ["ClusterSettings", "EnvBundleSettings"]


class ClusterSettings(Configurable):
    """Where the launchers of a cluster's jobs call back to."""

    callback_ip = Unicode(
        "",
        config=True,
        help="Address of this server that the launchers of the cluster's jobs call back "
        "to; they must reach it, and this server must reach the address each launcher "
        "names. Default: the local address on the route to the cluster (the host its "
        "backend talks to: a resource manager, a controller or login node, an API "
        "server; for a server inside the cluster, its own address there).",
    )


class EnvBundleSettings(Configurable):
    """For a cluster whose job gets the launch bundle in an environment variable (YARN's
    submit command forwards it into the container; a Slurm job has it in its own
    environment). Kubernetes mounts it as a Secret instead and has no such setting."""

    bundle_env = Unicode(
        "JRK_LAUNCH_BUNDLE",
        config=True,
        help="Environment variable that carries the launch bundle (the per-kernel secret) "
        "to the job's launcher: in the job's own environment, or in the submit command's, "
        "which forwards it into the job's container; fills {bundle_env} in argv.",
    )
