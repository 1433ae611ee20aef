"""One sshd host of the SSH test bed (``TestHost``): its sshd config and keys, its network
namespace, start / stop, and what runs on it."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

from .procs import (
    ENV_MARK,
    PREFIX,
    SSHTestBedError,
    cmdline,
    descendants,
    kill_and_wait,
    kill_netns,
    marked_pids,
    netns_pids,
    run_cmd,
    start_time,
    tail,
)
from .users import home_view_script

if TYPE_CHECKING:
    from .bed import SSHTestBed

HOST_KINDS = ("normal", "refuse_key", "no_python", "down", "slow_shell")
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
#: How long a "slow_shell" host's ~/.bashrc takes, as `pyenv init`, conda's or Lmod's module
#: init do on real hosts: every SSH session (a command's too) pays it before its command.
SLOW_SHELL_SECONDS = 0.3


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
        #: The host's temporary folder (its sessions' TMPDIR): what its launches leave
        #: behind is in the bed's work folder, not in this machine's shared /tmp.
        self.tmp_dir = self.dir / "tmp"
        #: Its own ~/.bashrc (netns mode): the bed's, and for "slow_shell" a slow part.
        self.bashrc_path = self.dir / "bashrc"
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
        self.tmp_dir.mkdir()
        self.tmp_dir.chmod(0o1777)  # as /tmp: other users' sessions write there too
        if self.kind == "slow_shell" and self.bed.mode != "netns":
            raise SSHTestBedError(
                "a slow_shell host needs netns mode (its own ~/.bashrc is bind-mounted): run "
                "as root with a working `ip netns`")
        slow = ""
        if self.kind == "slow_shell":
            # Work as a login shell's init does: a few processes and a wait (pyenv init
            # forks several; conda or Lmod read files), together SLOW_SHELL_SECONDS.
            slow = (
                "# slow_shell host: an init as pyenv init, conda or module init would run\n"
                f'_jrk_t=$(command -v python3 >/dev/null && uname -r); sleep {SLOW_SHELL_SECONDS}\n'
            )
        self.bashrc_path.write_text(f'. "{self.bed.bashrc_path}"\n{slow}')
        run_cmd(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", self.name,
              "-f", str(self.key_path)])
        self.host_key_pub = Path(f"{self.key_path}.pub").read_text().strip()
        if self.kind == "refuse_key":  # some other key: the bed's client key is refused
            other = self.dir / "other_key"
            run_cmd(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)])
            self.authorized_keys_path.write_text(Path(f"{other}.pub").read_text())
        else:
            self.authorized_keys_path.write_text(self.bed.client_key_pub + "\n")
        keys = [str(self.authorized_keys_path)]
        if self.bed.keys_dir is not None:  # readable by the bed's other users
            users_keys = self.bed.keys_dir / f"{self.name}_authorized_keys"
            users_keys.write_text(self.authorized_keys_path.read_text())
            users_keys.chmod(0o644)
            keys.append(str(users_keys))
        lines = [
            f"ListenAddress {self.address}:{self.port}",
            f"HostKey {self.key_path}",
            f"PidFile {self.dir / 'sshd.pid'}",
            f"AuthorizedKeysFile {' '.join(keys)}",
            "StrictModes no",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "PermitRootLogin prohibit-password",
            f"AllowUsers {' '.join([self.bed.user, *self.bed.users])}",
            "LogLevel VERBOSE",
            "UseDNS no",
            "PrintMotd no",
            "X11Forwarding no",
            "MaxStartups 100:30:200",
            "MaxSessions 100",
            f"SetEnv {ENV_MARK}={self.mark} TMPDIR={self.tmp_dir}",
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
        bed.record(namespaces=[ns], links=[self.veth])
        run_cmd(["ip", "netns", "add", ns])
        self._ns_created = True
        run_cmd(["ip", "link", "add", self.veth, "type", "veth", "peer", "name", "eth0",
              "netns", ns])
        run_cmd(["ip", "link", "set", self.veth, "master", bed.bridge, "up"])
        run_cmd(["ip", "-n", ns, "addr", "add", f"{self.address}/24", "dev", "eth0"])
        run_cmd(["ip", "-n", ns, "link", "set", "eth0", "up"])
        run_cmd(["ip", "-n", ns, "link", "set", "lo", "up"])

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> TestHost:
        """Bring the host (back) up and wait until its sshd answers."""
        self.launch()
        self.wait_ready(timeout)
        return self

    def launch(self) -> None:
        """Start its sshd without waiting (called by start() and SSHTestBed.start())."""
        if self.is_running:
            return
        log = open(self.log_path, "ab")
        sshd = [SSHD, "-D", "-E", str(self.log_path), "-f", str(self.config_path)]
        if self.netns:
            self._create_netns()
            run_cmd(["ip", "link", "set", self.veth, "up"])
            # A host of its own: its own /etc/hosts and its own ~/.bashrc (the one bash runs
            # for every SSH command), not this machine's: rc files here may run `pyenv
            # rehash`, which waits up to a minute on a lock an interrupted session left. A
            # "slow_shell" host's ~/.bashrc takes as long as such an init (SLOW_SHELL_SECONDS).
            script = (
                'hostname "$0" && mount --bind "$1" /etc/hosts && '
                '{ [ ! -f "$3" ] || mount --bind "$2" "$3"; } && shift 3 && exec "$@"'
            )
            home = Path(pwd.getpwnam(self.bed.user).pw_dir)
            if self.bed.users and not home.stat().st_mode & 0o001:
                # The bed's other users must reach its Python (pyenv in /root): see users.py
                script = f"{home_view_script(home, self.dir / 'home-view')} && {script}"
            argv = ["ip", "netns", "exec", self.netns, "unshare", "--uts", "sh", "-c", script,
                    self.hostname, str(self.bed.etc_hosts_path), str(self.bashrc_path),
                    str(Path(pwd.getpwnam(self.bed.user).pw_dir) / ".bashrc"), *sshd]
        else:
            argv = sshd
        try:
            self._master = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        self.master_pid = self._master.pid
        self.bed.record(sshd=[[self.master_pid, start_time(self.master_pid)]])

    def wait_ready(self, timeout: float) -> None:
        """Wait until its sshd answers (called by start() and SSHTestBed.start())."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self._master is None or self._master.poll() is not None:
                code = None if self._master is None else self._master.returncode
                raise SSHTestBedError(
                    f"sshd of {self.name} ({self.address}:{self.port}) exited with {code}; "
                    f"log {self.log_path}:\n{tail(self.log_path, 15)}")
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
            f"{tail(self.log_path, 15)}")

    def stop(self, unreachable: bool = True) -> None:
        """The host goes down: kill its sshd and every process on it. With `unreachable`
        (netns mode) its link goes down too, so connects fail with "no route" after the ARP
        timeout (~3 s) instead of being refused at once."""
        procs = set()
        if not self.netns and self.master_pid is not None:
            procs = descendants(self.master_pid) | marked_pids(self.mark)
        if self._master is not None:
            with contextlib.suppress(ProcessLookupError):
                self._master.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._master.wait(5)
        if self.netns and self._ns_created:
            kill_netns(self.netns)
            if unreachable:
                run_cmd(["ip", "link", "set", self.veth, "down"], check=False)
                run_cmd(["ip", "neigh", "flush", "dev", self.bed.bridge, "to", self.address],
                     check=False)
        else:
            kill_and_wait(procs | marked_pids(self.mark), timeout=5.0)
        self.bed.reap()

    # -- inspection -----------------------------------------------------------------------
    def pids(self, exclude_sshd: bool = False) -> list[int]:
        """PIDs running on this host except its sshd master (and, with `exclude_sshd`,
        except sshd's per-connection processes, e.g. of pooled connections)."""
        return [pid for pid, _ in self.processes(exclude_sshd=exclude_sshd)]

    def processes(self, exclude_sshd: bool = False) -> list[tuple[int, str]]:
        if self.netns:
            pids = netns_pids(self.netns) if self._ns_created else set()
        else:
            pids = marked_pids(self.mark)
            if self.is_running:
                pids |= descendants(self.master_pid)
        pids.discard(self.master_pid)
        out = []
        for pid in sorted(pids):
            cmd = cmdline(pid)
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
            self.bed.children.append(proc)
            return proc
        return run_cmd(argv, timeout=timeout, check=check, env=env, **popen_kw)

    def connect_kwargs(self) -> dict:
        """Keyword arguments for paramiko.SSHClient.connect()."""
        return {"hostname": self.address, "port": self.port, "username": self.bed.user,
                "key_filename": str(self.bed.client_key_path), "look_for_keys": False,
                "allow_agent": False}


