"""``SSHTestBed``: N real sshd hosts (see the package docstring), their bridge, client files
and teardown."""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import random
import re
import secrets
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional, Union

from testing.procs import StateOwner

from .host import TestHost
from .procs import PREFIX, SSHTestBedError, netns_available, run_cmd
from .state import STATE_FILES, cleanup_stale, remove_resources
from .users import ensure_user


class SSHTestBed(StateOwner):
    """N real sshd hosts. See the module docstring."""

    __test__ = False
    state_files = STATE_FILES

    def __init__(self, n_hosts: int = 2, workdir: Union[str, Path, None] = None, *,
                 extra_hosts: tuple[str, ...] = (), mode: str = "auto",
                 start_timeout: float = 10.0, users: tuple[str, ...] = ()):
        if mode not in ("auto", "netns", "loopback"):
            raise ValueError(f"mode {mode!r} is not auto, netns or loopback")
        self._mode_wanted = mode
        self.n_hosts, self.extra_hosts = n_hosts, tuple(extra_hosts)
        self.start_timeout = start_timeout
        self.id = secrets.token_hex(3)
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="jrk-sshbed-"))
        self.user = pwd.getpwuid(os.geteuid()).pw_name
        # More OS users the hosts accept the client key of (testing/sshbed/users.py).
        self.users = tuple(u for u in users if u != self.user)
        self.keys_dir: Optional[Path] = None
        self.hosts: list[TestHost] = []
        self.mode = ""
        self.subnet: Optional[str] = None
        self.bridge: Optional[str] = None
        self.route_source_address = "127.0.0.1"
        self.client_key_path = self.workdir / "client_ed25519"
        self.client_key_pub = ""
        self.known_hosts_path = self.workdir / "known_hosts"
        self.ssh_config_path = self.workdir / "ssh_config"
        self.etc_hosts_path = self.workdir / "etc_hosts"
        self.bashrc_path = self.workdir / "bashrc"
        self.state_path = STATE_FILES.path(self.id)
        self._state: dict = {}
        self.children: list[subprocess.Popen] = []
        self._started = self._stopped = False

    @property
    def distinct_hostnames(self) -> bool:
        return self.mode == "netns"

    def __repr__(self) -> str:
        return f"<SSHTestBed {self.id} {self.mode or 'unstarted'} {self.hosts}>"

    def host(self, name: str) -> TestHost:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    # -- start ----------------------------------------------------------------------------
    def start(self) -> SSHTestBed:
        if self._started:
            return self
        self._started = True
        atexit.register(self._atexit_stop)
        try:
            self._setup()
            for h in self.hosts:
                if h.kind != "down":
                    h.launch()
            for h in self.hosts:
                if h.kind != "down":
                    h.wait_ready(self.start_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _setup(self) -> None:
        with STATE_FILES.lock():
            cleanup_stale()
            want = self._mode_wanted
            if want == "netns" and not netns_available():
                raise SSHTestBedError("netns mode needs root and a working `ip netns`")
            self.mode = "netns" if want != "loopback" and netns_available() else "loopback"
            STATE_FILES.mark_workdir(self.workdir, self.id)
            self._state = STATE_FILES.new(self.id, mode=self.mode, workdir=str(self.workdir),
                                          namespaces=[], links=[], sshd=[])
            if self.mode == "netns":
                self._make_bridge()
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        run_cmd(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"jrk-sshbed-{self.id}",
              "-f", str(self.client_key_path)])
        self.client_key_pub = Path(f"{self.client_key_path}.pub").read_text().strip()
        if self.users:
            for name in self.users:
                ensure_user(name)
            # sshd reads a user's authorized keys as that user: a folder they can read
            # (the workdir's parents may be private), removed with the bed.
            self.keys_dir = Path(tempfile.mkdtemp(prefix=f"jrk-sshbed-keys-{self.id}-"))
            STATE_FILES.mark_workdir(self.keys_dir, self.id)
            self.record(extra_dirs=[str(self.keys_dir)])
            self.keys_dir.chmod(0o755)
        for kind in ["normal"] * self.n_hosts + list(self.extra_hosts):
            self.hosts.append(TestHost(self, len(self.hosts) + 1, kind))
        self._write_client_files()

    def _make_bridge(self) -> None:
        used = set()
        addrs = run_cmd(["ip", "-o", "-4", "addr"]).stdout + run_cmd(["ip", "-4", "route"]).stdout
        used.update(int(k) for k in re.findall(r"\b10\.213\.(\d+)\.", addrs))
        for _, state in STATE_FILES.states():
            with contextlib.suppress(AttributeError, ValueError, TypeError, IndexError):
                used.add(int(state.get("subnet", "0.0.0").split(".")[2]))
        free = [k for k in range(1, 255) if k not in used]
        if not free:
            raise SSHTestBedError("no free 10.213.k.0/24 subnet for the test bed bridge")
        k = random.choice(free)
        self.subnet = f"10.213.{k}"
        self.bridge = f"{PREFIX}{self.id}-br"
        self.route_source_address = f"{self.subnet}.1"
        self._state["subnet"] = f"{self.subnet}.0"
        self.record(links=[self.bridge])
        run_cmd(["ip", "link", "add", self.bridge, "type", "bridge"])
        with contextlib.suppress(OSError):
            Path(f"/proc/sys/net/ipv6/conf/{self.bridge}/disable_ipv6").write_text("1")
        run_cmd(["ip", "addr", "add", f"{self.route_source_address}/24", "dev", self.bridge])
        run_cmd(["ip", "link", "set", self.bridge, "up"])

    def add_host(self, kind: str = "normal", start: bool = True) -> TestHost:
        """Add a host of `kind` (see HOST_KINDS) to a started bed; "down" hosts never start
        by themselves (their address is assigned nowhere) but `host.start()` brings them up."""
        if not self._started or self._stopped:
            raise SSHTestBedError("add_host() needs a started bed")
        host = TestHost(self, len(self.hosts) + 1, kind)
        self.hosts.append(host)
        self._write_client_files()
        if start and kind != "down":
            host.start(self.start_timeout)
        return host

    def _write_client_files(self) -> None:
        known, hosts_file = [], ["127.0.0.1 localhost", "::1 localhost ip6-localhost"]
        cfg = []
        for h in self.hosts:
            known.append(f"{h.address} {h.host_key_pub}")
            known.append(f"[{h.address}]:{h.port} {h.host_key_pub}")
            hosts_file.append(f"{h.address} {h.hostname}")
            cfg += [f"Host {h.name}", f"  HostName {h.address}", f"  Port {h.port}", ""]
        if self.mode == "netns":
            hosts_file.append(f"{self.route_source_address} {socket.gethostname()}")
        cfg += [
            "Host *",
            f"  User {self.user}",
            f"  IdentityFile {self.client_key_path}",
            "  IdentitiesOnly yes",
            f"  UserKnownHostsFile {self.known_hosts_path}",
            "  GlobalKnownHostsFile /dev/null",
            "  StrictHostKeyChecking yes",
            "  UpdateHostKeys no",
            "  BatchMode yes",
            "  ConnectTimeout 5",
            "  ControlMaster no",
            "  LogLevel ERROR",
        ]
        self.known_hosts_path.write_text("\n".join(known) + "\n")
        self.ssh_config_path.write_text("\n".join(cfg) + "\n")
        # The hosts' ~/.bashrc: the Python running the tests (a venv's too) is the hosts'
        # python3, as a cluster's nodes have the kernel's Python on PATH.
        self.bashrc_path.write_text(
            "# jupyter_remote_kernels test host (testing/sshbed/)\n"
            f'export PATH="{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin:'
            '/usr/local/sbin:/usr/sbin:/sbin"\n'
        )
        # rewritten in place: running hosts see the new content through their bind mount
        with open(self.etc_hosts_path, "w") as f:
            f.write("\n".join(hosts_file) + "\n")

    # -- stop -----------------------------------------------------------------------------
    def reap(self) -> None:
        """Kill and wait for the hosts' background commands (called by stop() and
        TestHost.stop())."""
        for proc in self.children:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(5)
        self.children = [p for p in self.children if p.returncode is None]

    def stop(self) -> None:
        """Tear everything down; idempotent, safe after a failed start()."""
        if not self._begin_stop():
            return
        errors = []
        for h in self.hosts:
            try:
                h.stop(unreachable=False)
            except Exception as exc:
                errors.append(f"{h.name}: {exc}")
        self.reap()
        errors += remove_resources(self._state)
        self._finish_stop(errors, SSHTestBedError, "test bed")


