"""The settings of ssh kernels (each overridable per kernelspec in process_proxy.config)."""

from __future__ import annotations

from traitlets import Bool, Enum, Float, Int, List, Unicode, validate
from traitlets.config import Configurable

from .pool import parse_host

__all__ = ["SSHSettings"]


class SSHSettings(Configurable):
    """Which hosts, how they are chosen and reached, and how kernels run there."""

    remote_hosts = List(
        Unicode(),
        [],
        config=True,
        help="Hosts kernels may run on, as host, host:port, user@host or user@host:port. "
        "Enterprise Gateway's comma-separated string is accepted in kernelspecs.",
    )
    load_balancing = Enum(
        ["round-robin", "least-loaded", "first-available"],
        "round-robin",
        config=True,
        help="How a host is chosen: in turn, the one running the fewest kernels of this "
        "server, or the first that works. A start request's KERNEL_REMOTE_HOST overrides it.",
    )
    remote_user = Unicode(
        "", config=True, help="SSH user name (default: the server's user); user@host wins."
    )
    login_as_kernel_user = Bool(
        False,
        config=True,
        help="Log in to the hosts as each kernel's user (KERNEL_USERNAME: the requester's "
        "user mapped by RemoteMappingKernelManager.kernel_user_mapping), so that kernels run "
        "as that OS user there; it wins over remote_user and user@host. The key must be "
        "accepted for every such user on the hosts.",
    )
    remote_port = Int(22, config=True, help="SSH port of the hosts; host:port wins.")
    ssh_key_file = Unicode(
        "", config=True, help="Private key file; empty: the SSH agent and ~/.ssh keys."
    )
    allow_agent = Bool(True, config=True, help="Try keys from a running SSH agent.")
    known_hosts_file = Unicode(
        "~/.ssh/known_hosts",
        config=True,
        help="known_hosts file the hosts' keys are checked against (with "
        "/etc/ssh/ssh_known_hosts).",
    )
    reject_unknown_host_keys = Bool(
        True,
        config=True,
        help="Refuse hosts whose key is not in known_hosts. False accepts them with a warning "
        "(open to man-in-the-middle attacks).",
    )
    proxy_jump = Unicode(
        "", config=True, help="Jump host ([user@]host[:port]) the hosts are reached through."
    )
    python = Unicode(
        "",
        config=True,
        help="Python on the hosts; replaces a bare python/python3 at the start of argv "
        "(empty: the name in argv, as the host's shell finds it).",
    )
    connect_timeout = Float(10.0, config=True, help="Seconds an SSH connect may take.")
    callback_ip = Unicode(
        "",
        config=True,
        help="Address launchers call back to; empty: this machine's address on the route "
        "to the chosen host.",
    )
    max_channels_per_connection = Int(
        8,
        config=True,
        help="SSH sessions open at once on one pooled connection (below sshd's MaxSessions); "
        "more concurrent launches to a host open another connection.",
    )
    host_agent = Bool(
        True,
        config=True,
        help="Keep one small Python helper per host (started over SSH on first use, ended "
        "with the connection) that forks each launch, instead of one SSH command per kernel "
        "(which runs the login shell's rc files and starts Python every time).",
    )
    remote_working_dir = Unicode(
        "",
        config=True,
        help="Working directory of kernels on the host (default: the SSH user's home); a "
        "start request's KERNEL_WORKING_DIR wins.",
    )

    @validate("remote_hosts")
    def _validate_hosts(self, proposal: dict) -> list[str]:
        for spec in proposal["value"]:
            parse_host(spec)
        return proposal["value"]

    @validate("proxy_jump")
    def _validate_proxy(self, proposal: dict) -> str:
        if proposal["value"]:
            parse_host(proposal["value"])
        return proposal["value"]
