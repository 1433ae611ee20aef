"""A test bed of real ``sshd`` hosts on this machine, for tests and benchmarks.

As root with working ``ip netns``, every host is a network namespace (own address on a
bridge, own UTS namespace so ``socket.gethostname()`` differs per host, own ``/etc/hosts``
through a private bind mount). Otherwise every host is an ``sshd`` on a 127.0.0.x address
with a free port, and the hostname is the machine's own.

    with SSHTestBed(2) as bed:
        subprocess.run(["ssh", "-F", bed.ssh_config_path, "h1", "hostname"])

Everything a bed makes (namespaces, links, processes, workdir) is recorded in a state file
under ``/tmp/jrk-sshbed/`` and removed by ``stop()``; a later bed removes what an owner that
died without ``stop()`` (kill -9) left behind. No pytest import here: benchmarks use it too.

Modules: ``procs`` (commands, /proc, netns helpers), ``state`` (state files, leftovers
cleanup), ``host`` (``TestHost``), ``bed`` (``SSHTestBed``).
"""

from .bed import SSHTestBed
from .host import HOST_KINDS, SSHD, TestHost
from .procs import ENV_MARK, PREFIX, SSHTestBedError, netns_available
from .state import cleanup_stale, state_dir

__all__ = [
    "ENV_MARK",
    "HOST_KINDS",
    "PREFIX",
    "SSHD",
    "SSHTestBed",
    "SSHTestBedError",
    "TestHost",
    "cleanup_stale",
    "netns_available",
    "state_dir",
]
