"""Kernels on SSH hosts: pooled connections, a launch agent per host, nothing left behind.

Public surface: :class:`SSHProvisioner` (entry point ``jrk-ssh-provisioner``),
:func:`connections_of` (the server's SSH connections) and :data:`BACKEND`
(``install ssh``, ``check NAME``).
"""

from ..backends import Backend
from .check import run_check
from .connections import SSHConnections, connections_of
from .install import SSHInstallOptions, eg_config
from .pool import SSHHostError, SSHPool, SSHTarget, parse_host
from .provisioner import SSHProvisioner

__all__ = [
    "BACKEND",
    "SSHConnections",
    "SSHHostError",
    "SSHPool",
    "SSHProvisioner",
    "SSHTarget",
    "connections_of",
    "parse_host",
]

BACKEND = Backend(
    name="ssh",
    install_options=SSHInstallOptions,
    check=run_check,
    eg_class_names=("enterprise_gateway.services.processproxies.distributed.DistributedProcessProxy",),
    gp_provisioner_names=("distributed-provisioner",),
    eg_config=eg_config,
)
