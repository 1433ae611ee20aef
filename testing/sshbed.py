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
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import pwd
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Union

__all__ = ["HOST_KINDS", "SSHTestBed", "SSHTestBedError", "TestHost", "cleanup_stale"]

HOST_KINDS = ("normal", "refuse_key", "no_python", "down")
PREFIX = "jrk-"
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
ENV_MARK = "JRK_SSHBED_HOST"
_MARKER_FILE = ".jrk-sshbed"


class SSHTestBedError(RuntimeError):
    """Setting up, driving or tearing down the SSH test bed failed."""


def _state_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/tmp/jrk-sshbed")
    return Path(f"/tmp/jrk-sshbed-{os.geteuid()}")


def _cmd(argv: list[str], *, timeout: float = 15, check: bool = True, **kw):
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              check=False, **kw)
    except subprocess.TimeoutExpired as exc:
        raise SSHTestBedError(f"{' '.join(argv)!r} did not finish within {timeout}s") from exc
    if check and proc.returncode != 0:
        raise SSHTestBedError(
            f"{' '.join(argv)!r} failed with exit code {proc.returncode}: "
            f"{(proc.stderr or proc.stdout).strip()}"
        )
    return proc


def _start_time(pid: int) -> Optional[str]:
    """The kernel start time of `pid` (guards against PID reuse), None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, start: Optional[str] = None) -> bool:
    now = _start_time(pid)
    return now is not None and (start is None or now == start)


def _cmdline(pid: int) -> Optional[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _marked_pids(mark_prefix: str) -> set[int]:
    """PIDs whose environment carries ENV_MARK=<value starting with mark_prefix>."""
    needle = f"{ENV_MARK}={mark_prefix}".encode()
    found = set()
    for pid in _all_pids():
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if any(item.startswith(needle) for item in env.split(b"\0")):
            found.add(pid)
    return found


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid in _all_pids():
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(pid)
    out, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def _kill(pids, timeout: float = 5.0) -> None:
    """SIGKILL ``pids`` and wait (bounded) until each is gone or a zombie."""
    pids = set(pids)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_running(pid) for pid in pids):
        time.sleep(0.01)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _netns_pids(ns: str) -> set[int]:
    proc = _cmd(["ip", "netns", "pids", ns], check=False, timeout=10)
    return {int(x) for x in proc.stdout.split() if x.isdigit()}


def _kill_netns(ns: str, timeout: float = 5.0) -> None:
    """SIGKILL everything in namespace `ns` until it is empty (processes may fork meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        pids = _netns_pids(ns) - {os.getpid()}
        if not pids:
            return
        if time.monotonic() > deadline:
            raise SSHTestBedError(f"processes {sorted(pids)} in netns {ns} survived SIGKILL")
        _kill(pids)
        time.sleep(0.02)


def netns_available() -> bool:
    if getattr(netns_available, "cached", None) is None:
        ok = os.geteuid() == 0 and all(shutil.which(t) for t in ("ip", "unshare", "nsenter"))
        if ok:
            probe = f"{PREFIX}probe{os.getpid()}"
            ok = _cmd(["ip", "netns", "add", probe], check=False).returncode == 0
            _cmd(["ip", "netns", "del", probe], check=False)
        netns_available.cached = ok
    return netns_available.cached


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class TestHost:
    """One SSH host of a bed. Create through SSHTestBed, not directly."""

    __test__ = False  # not a pytest test class

    def __init__(self, bed: SSHTestBed, index: int, kind: str):
        if kind not in HOST_KINDS:
            raise ValueError(f"host kind {kind!r} is not one of {HOST_KINDS}")
        self.bed, self.index, self.kind = bed, index, kind
        self.name = f"h{index}"
        self.dir = bed.workdir / self.name
        self.netns: Optional[str] = f"{PREFIX}{bed.id}-{self.name}" if bed.mode == "netns" else None
        self.veth: Optional[str] = f"{PREFIX}{bed.id}-{index}" if self.netns else None
        if self.netns:
            self.address = f"{bed.subnet}.{10 + index}"
            self.port = 22
            self.hostname = f"jrk-host{index}"
        else:
            self.address = f"127.0.0.{10 + index}"
            self.port = self._free_port(self.address)
            self.hostname = socket.gethostname()
        self.key_path = self.dir / "ssh_host_ed25519_key"
        self.config_path = self.dir / "sshd_config"
        self.log_path = self.dir / "sshd.log"
        self.authorized_keys_path = self.dir / "authorized_keys"
        self.host_key_pub = ""
        self.master_pid: Optional[int] = None
        self._master: Optional[subprocess.Popen] = None
        self._ns_created = False
        self._prepare()

    def __repr__(self) -> str:
        state = "up" if self.is_running else "down"
        return f"<TestHost {self.name} {self.kind} {self.address}:{self.port} {state}>"

    @staticmethod
    def _free_port(address: str) -> int:
        with socket.socket() as s:
            s.bind((address, 0))
            return s.getsockname()[1]

    @property
    def mark(self) -> str:
        return f"{self.bed.id}-{self.name}"

    @property
    def is_running(self) -> bool:
        return self._master is not None and self._master.poll() is None

    def _prepare(self) -> None:
        self.dir.mkdir(parents=True)
        _cmd(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", self.name,
              "-f", str(self.key_path)])
        self.host_key_pub = Path(f"{self.key_path}.pub").read_text().strip()
        if self.kind == "refuse_key":  # some other key: the bed's client key is refused
            other = self.dir / "other_key"
            _cmd(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)])
            self.authorized_keys_path.write_text(Path(f"{other}.pub").read_text())
        else:
            self.authorized_keys_path.write_text(self.bed.client_key_pub + "\n")
        lines = [
            f"ListenAddress {self.address}:{self.port}",
            f"HostKey {self.key_path}",
            f"PidFile {self.dir / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.authorized_keys_path}",
            "StrictModes no",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "PermitRootLogin prohibit-password",
            f"AllowUsers {self.bed.user}",
            "LogLevel VERBOSE",
            "UseDNS no",
            "PrintMotd no",
            "X11Forwarding no",
            "MaxStartups 100:30:200",
            "MaxSessions 100",
            f"SetEnv {ENV_MARK}={self.mark}",
            "Subsystem sftp internal-sftp",
        ]
        if self.kind == "no_python":
            lines.append(f"ForceCommand {self._no_python_wrapper()}")
        self.config_path.write_text("\n".join(lines) + "\n")

    def _no_python_wrapper(self) -> Path:
        """A PATH dir with every standard command except python*, and a ForceCommand wrapper
        that runs the session (after the login shell's rc files) with only that dir on PATH."""
        bindir = self.dir / "bin"
        bindir.mkdir()
        for d in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"):
            with contextlib.suppress(OSError):
                for entry in os.scandir(d):
                    target = bindir / entry.name
                    if not entry.name.startswith("python") and not target.exists():
                        target.symlink_to(entry.path)
        wrapper = self.dir / "no_python_session.sh"
        wrapper.write_text(
            "#!/bin/sh\n"
            f"PATH={bindir}; export PATH\n"
            # bash would source ~/.bashrc again (it does for ssh sessions) and could put a
            # python3 back on PATH (pyenv shims): --norc
            'case "$SHELL" in\n'
            '  */bash) set -- "$SHELL" --norc --noprofile;;\n'
            '  *) set -- /bin/sh;;\n'
            'esac\n'
            'if [ -n "$SSH_ORIGINAL_COMMAND" ]; then exec "$@" -c "$SSH_ORIGINAL_COMMAND"; fi\n'
            'exec "$@" -i\n'
        )
        wrapper.chmod(0o755)
        return wrapper

    # -- network namespace plumbing ---------------------------------------------------
    def _create_netns(self) -> None:
        if self._ns_created:
            return
        bed, ns = self.bed, self.netns
        bed._record(namespaces=[ns], links=[self.veth])
        _cmd(["ip", "netns", "add", ns])
        self._ns_created = True
        _cmd(["ip", "link", "add", self.veth, "type", "veth", "peer", "name", "eth0",
              "netns", ns])
        _cmd(["ip", "link", "set", self.veth, "master", bed.bridge, "up"])
        _cmd(["ip", "-n", ns, "addr", "add", f"{self.address}/24", "dev", "eth0"])
        _cmd(["ip", "-n", ns, "link", "set", "eth0", "up"])
        _cmd(["ip", "-n", ns, "link", "set", "lo", "up"])

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> TestHost:
        """Bring the host (back) up and wait until its sshd answers."""
        self._launch()
        self._wait_ready(timeout)
        return self

    def _launch(self) -> None:
        if self.is_running:
            return
        log = open(self.log_path, "ab")
        sshd = [SSHD, "-D", "-E", str(self.log_path), "-f", str(self.config_path)]
        if self.netns:
            self._create_netns()
            _cmd(["ip", "link", "set", self.veth, "up"])
            # A host of its own: its own /etc/hosts and its own ~/.bashrc (the one bash runs
            # for every SSH command), not this machine's: rc files here may run `pyenv
            # rehash`, which waits up to a minute on a lock an interrupted session left.
            script = (
                'hostname "$0" && mount --bind "$1" /etc/hosts && '
                '{ [ ! -f "$3" ] || mount --bind "$2" "$3"; } && shift 3 && exec "$@"'
            )
            argv = ["ip", "netns", "exec", self.netns, "unshare", "--uts", "sh", "-c", script,
                    self.hostname, str(self.bed.etc_hosts_path), str(self.bed.bashrc_path),
                    str(Path(pwd.getpwnam(self.bed.user).pw_dir) / ".bashrc"), *sshd]
        else:
            argv = sshd
        try:
            self._master = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        self.master_pid = self._master.pid
        self.bed._record(sshd=[[self.master_pid, _start_time(self.master_pid)]])

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self._master is None or self._master.poll() is not None:
                code = None if self._master is None else self._master.returncode
                raise SSHTestBedError(
                    f"sshd of {self.name} ({self.address}:{self.port}) exited with {code}; "
                    f"log {self.log_path}:\n{_tail(self.log_path)}")
            try:
                with socket.create_connection((self.address, self.port), timeout=0.5) as s:
                    s.settimeout(max(0.1, min(2.0, deadline - time.monotonic())))
                    if s.recv(64).startswith(b"SSH-"):
                        return
            except OSError as exc:
                last = exc
            time.sleep(0.02)
        raise SSHTestBedError(
            f"sshd of {self.name} did not accept connections on {self.address}:{self.port} "
            f"within {timeout}s (last error: {last}); log {self.log_path}:\n"
            f"{_tail(self.log_path)}")

    def stop(self, unreachable: bool = True) -> None:
        """The host goes down: kill its sshd and every process on it. With `unreachable`
        (netns mode) its link goes down too, so connects fail with "no route" after the ARP
        timeout (~3 s) instead of being refused at once."""
        procs = set()
        if not self.netns and self.master_pid is not None:
            procs = _descendants(self.master_pid) | _marked_pids(self.mark)
        if self._master is not None:
            with contextlib.suppress(ProcessLookupError):
                self._master.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._master.wait(5)
        if self.netns and self._ns_created:
            _kill_netns(self.netns)
            if unreachable:
                _cmd(["ip", "link", "set", self.veth, "down"], check=False)
                _cmd(["ip", "neigh", "flush", "dev", self.bed.bridge, "to", self.address],
                     check=False)
        else:
            _kill(procs | _marked_pids(self.mark))
        self.bed._reap()

    # -- inspection -----------------------------------------------------------------------
    def pids(self, exclude_sshd: bool = False) -> list[int]:
        """PIDs running on this host except its sshd master (and, with `exclude_sshd`,
        except sshd's per-connection processes, e.g. of pooled connections)."""
        return [pid for pid, _ in self.processes(exclude_sshd=exclude_sshd)]

    def processes(self, exclude_sshd: bool = False) -> list[tuple[int, str]]:
        if self.netns:
            pids = _netns_pids(self.netns) if self._ns_created else set()
        else:
            pids = _marked_pids(self.mark)
            if self.is_running:
                pids |= _descendants(self.master_pid)
        pids.discard(self.master_pid)
        out = []
        for pid in sorted(pids):
            cmd = _cmdline(pid)
            if cmd is None or (exclude_sshd and cmd.startswith("sshd:")):
                continue
            out.append((pid, cmd))
        return out

    def run(self, cmd: Union[str, list[str]], *, background: bool = False,
            timeout: float = 30, check: bool = True, **popen_kw):
        """Run `cmd` (str: through sh -c) on the host: in its network, UTS and mount
        namespaces in netns mode. Returns a CompletedProcess (text, captured), or with
        `background` a Popen that the bed kills and reaps at teardown."""
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        env = {**os.environ, **popen_kw.pop("env", {}), ENV_MARK: self.mark}
        if self.netns:
            if not self.is_running:
                raise SSHTestBedError(f"host {self.name} is down; start() it first")
            argv = ["nsenter", "-t", str(self.master_pid), "-n", "-u", "-m", "--", *argv]
        if background:
            popen_kw.setdefault("stdin", subprocess.DEVNULL)
            popen_kw.setdefault("stdout", subprocess.DEVNULL)
            popen_kw.setdefault("stderr", subprocess.DEVNULL)
            proc = subprocess.Popen(argv, env=env, **popen_kw)
            self.bed._children.append(proc)
            return proc
        return _cmd(argv, timeout=timeout, check=check, env=env, **popen_kw)

    def connect_kwargs(self) -> dict:
        """Keyword arguments for paramiko.SSHClient.connect()."""
        return {"hostname": self.address, "port": self.port, "username": self.bed.user,
                "key_filename": str(self.bed.client_key_path), "look_for_keys": False,
                "allow_agent": False}


class SSHTestBed:
    """N real sshd hosts. See the module docstring."""

    __test__ = False

    def __init__(self, n_hosts: int = 2, workdir: Union[str, Path, None] = None, *,
                 extra_hosts: tuple[str, ...] = (), mode: str = "auto",
                 start_timeout: float = 10.0):
        if mode not in ("auto", "netns", "loopback"):
            raise ValueError(f"mode {mode!r} is not auto, netns or loopback")
        self._mode_wanted = mode
        self.n_hosts, self.extra_hosts = n_hosts, tuple(extra_hosts)
        self.start_timeout = start_timeout
        self.id = secrets.token_hex(3)
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="jrk-sshbed-"))
        self.user = pwd.getpwuid(os.geteuid()).pw_name
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
        self.state_path = _state_dir() / f"{self.id}.json"
        self._state: dict = {}
        self._children: list[subprocess.Popen] = []
        self._started = self._stopped = False

    @property
    def distinct_hostnames(self) -> bool:
        return self.mode == "netns"

    def __repr__(self) -> str:
        return f"<SSHTestBed {self.id} {self.mode or 'unstarted'} {self.hosts}>"

    def __enter__(self) -> SSHTestBed:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def host(self, name: str) -> TestHost:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    # -- state file (for cleanup after a crashed owner) -----------------------------------
    def _record(self, **lists) -> None:
        for key, values in lists.items():
            self._state.setdefault(key, []).extend(values)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._state))
        tmp.replace(self.state_path)

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
                    h._launch()
            for h in self.hosts:
                if h.kind != "down":
                    h._wait_ready(self.start_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _setup(self) -> None:
        sdir = _state_dir()
        sdir.mkdir(mode=0o700, exist_ok=True)
        with open(sdir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            cleanup_stale()
            want = self._mode_wanted
            if want == "netns" and not netns_available():
                raise SSHTestBedError("netns mode needs root and a working `ip netns`")
            self.mode = "netns" if want != "loopback" and netns_available() else "loopback"
            self._state = {"id": self.id, "owner_pid": os.getpid(),
                           "owner_start": _start_time(os.getpid()), "mode": self.mode,
                           "workdir": str(self.workdir), "namespaces": [], "links": [],
                           "sshd": []}
            self.workdir.mkdir(parents=True, exist_ok=True)
            (self.workdir / _MARKER_FILE).write_text(self.id)
            self._record()
            if self.mode == "netns":
                self._make_bridge()
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        _cmd(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"jrk-sshbed-{self.id}",
              "-f", str(self.client_key_path)])
        self.client_key_pub = Path(f"{self.client_key_path}.pub").read_text().strip()
        for kind in ["normal"] * self.n_hosts + list(self.extra_hosts):
            self.hosts.append(TestHost(self, len(self.hosts) + 1, kind))
        self._write_client_files()

    def _make_bridge(self) -> None:
        used = set()
        addrs = _cmd(["ip", "-o", "-4", "addr"]).stdout + _cmd(["ip", "-4", "route"]).stdout
        used.update(int(k) for k in re.findall(r"\b10\.213\.(\d+)\.", addrs))
        for f in _state_dir().glob("*.json"):
            with contextlib.suppress(OSError, ValueError, TypeError):
                used.add(int(json.loads(f.read_text()).get("subnet", "0.0.0").split(".")[2]))
        free = [k for k in range(1, 255) if k not in used]
        if not free:
            raise SSHTestBedError("no free 10.213.k.0/24 subnet for the test bed bridge")
        k = random.choice(free)
        self.subnet = f"10.213.{k}"
        self.bridge = f"{PREFIX}{self.id}-br"
        self.route_source_address = f"{self.subnet}.1"
        self._state["subnet"] = f"{self.subnet}.0"
        self._record(links=[self.bridge])
        _cmd(["ip", "link", "add", self.bridge, "type", "bridge"])
        with contextlib.suppress(OSError):
            Path(f"/proc/sys/net/ipv6/conf/{self.bridge}/disable_ipv6").write_text("1")
        _cmd(["ip", "addr", "add", f"{self.route_source_address}/24", "dev", self.bridge])
        _cmd(["ip", "link", "set", self.bridge, "up"])

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
            "# jupyter_remote_kernels test host (testing/sshbed.py)\n"
            f'export PATH="{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin:'
            '/usr/local/sbin:/usr/sbin:/sbin"\n'
        )
        # rewritten in place: running hosts see the new content through their bind mount
        with open(self.etc_hosts_path, "w") as f:
            f.write("\n".join(hosts_file) + "\n")

    # -- stop -----------------------------------------------------------------------------
    def _reap(self) -> None:
        for proc in self._children:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(5)
        self._children = [p for p in self._children if p.returncode is None]

    def _atexit_stop(self) -> None:
        if self._state.get("owner_pid", os.getpid()) == os.getpid():  # not in a forked child
            self.stop()

    def stop(self) -> None:
        """Tear everything down; idempotent, safe after a failed start()."""
        if self._stopped or not self._started:
            return
        self._stopped = True
        atexit.unregister(self._atexit_stop)
        errors = []
        for h in self.hosts:
            try:
                h.stop(unreachable=False)
            except Exception as exc:
                errors.append(f"{h.name}: {exc}")
        self._reap()
        errors += _remove_resources(self._state)
        if errors:
            raise SSHTestBedError("test bed teardown incomplete: " + "; ".join(errors))
        with contextlib.suppress(FileNotFoundError):
            self.state_path.unlink()


def _remove_resources(state: dict) -> list[str]:
    """Kill, delete and remove what `state` records; returns the errors."""
    errors = []
    bed_id = state.get("id", "")
    for ns in state.get("namespaces", []):
        if not ns.startswith(PREFIX):
            continue
        try:
            if Path(f"/run/netns/{ns}").exists():
                _kill_netns(ns)
                _cmd(["ip", "netns", "del", ns])
        except SSHTestBedError as exc:
            errors.append(str(exc))
    for pid, start in state.get("sshd", []):
        if start and _alive(pid, start) and "sshd" in (_cmdline(pid) or ""):
            _kill([pid])
    if bed_id:
        _kill(_marked_pids(f"{bed_id}-"))
    for link in reversed(state.get("links", [])):
        if link.startswith(PREFIX) and Path(f"/sys/class/net/{link}").exists():
            proc = _cmd(["ip", "link", "del", link], check=False)
            if proc.returncode and Path(f"/sys/class/net/{link}").exists():
                errors.append(f"cannot delete link {link}: {proc.stderr.strip()}")
    workdir = Path(state.get("workdir", "/nonexistent"))
    if (workdir / _MARKER_FILE).is_file():
        shutil.rmtree(workdir, ignore_errors=True)
        if workdir.exists():
            errors.append(f"cannot remove {workdir}")
    return errors


def cleanup_stale() -> list[str]:
    """Remove what beds whose owner process died without stop() left behind.
    Returns the ids of the beds cleaned up."""
    cleaned = []
    for f in sorted(_state_dir().glob("*.json")):
        try:
            state = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if _alive(state.get("owner_pid", 0), state.get("owner_start")):
            continue
        if not _remove_resources(state):
            f.unlink(missing_ok=True)
        cleaned.append(state.get("id", f.stem))
    return cleaned
