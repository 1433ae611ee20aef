"""The daemons of the real Slurm test cluster: munged and slurmctld on this machine, one
slurmd per bed host (its own network, UTS and mount namespaces); start, wait, stop."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from typing import Optional

from testing.sshbed import TestHost

from .deps import SlurmClusterError, binary
from .procs import ENV_MARK, kill_and_wait, start_time, tail

# slurmd enters the host's network namespace only (not `ip netns exec`, which remounts
# /sys and hides the cgroup mounts slurmd checks at start), then a UTS + mount namespace
# of its own: hostname = node name, the bed's hosts file over /etc/hosts.
NODE_SCRIPT = 'hostname "$0" && mount --bind "$1" /etc/hosts && shift && exec "$@"'


class DaemonsMixin:
    """munged, slurmctld and the slurmd of :class:`~.cluster.SlurmTestCluster`."""

    def _popen(self, argv: list[str], log, mark: str) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM")}
        env.update({ENV_MARK: f"{self.id}-{mark}", "SLURM_CONF": str(self.slurm_conf)})
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, cwd=self.workdir, env=env,
                                start_new_session=True)
        self.record(daemons=[[proc.pid, start_time(proc.pid), mark]])
        return proc

    def _launch_munged(self) -> None:
        d = self.munge_dir
        # --force: munged wants the socket's folder (and its parents) open to everyone;
        # here only root (the cluster's only user) talks to it, in a 0700 workdir.
        argv = [binary("munged"), "--foreground", "--force", f"--socket={self.munge_socket}",
                f"--key-file={d / 'munge.key'}", f"--pid-file={d / 'munged.pid'}",
                f"--log-file={d / 'munged.log'}", f"--seed-file={d / 'munged.seed'}"]
        with open(d / "munged.out", "ab") as log:
            self._munged = self._popen(argv, log, "munged")
        deadline = time.monotonic() + 10
        while not self.munge_socket.exists():
            if self._munged.poll() is not None or time.monotonic() > deadline:
                msg = (f"munged did not create {self.munge_socket} (exit "
                       f"{self._munged.poll()}):\n{tail(d / 'munged.out')}\n"
                       f"{tail(d / 'munged.log')}")
                raise SlurmClusterError(msg)
            time.sleep(0.02)

    def _launch_ctld(self) -> None:
        # node names resolve through the bed's hosts file, bind-mounted over /etc/hosts in
        # a mount namespace of its own: no lookup of a test host leaves the machine
        script = 'mount --bind "$0" /etc/hosts && exec "$@"'
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                str(self.bed.etc_hosts_path), binary("slurmctld"), "-c", "-D", "-i",
                "-f", str(self.slurm_conf)]
        with open(self.ctld_dir / "slurmctld.out", "ab") as log:
            self._ctld = self._popen(argv, log, "slurmctld")

    def _launch_slurmd(self, host: TestHost) -> None:
        argv = ["nsenter", f"--net=/run/netns/{host.netns}", "--",
                "unshare", "--uts", "--mount", "--propagation", "private",
                "sh", "-c", NODE_SCRIPT, host.hostname, str(self.bed.etc_hosts_path),
                binary("slurmd"), "-D", "-f", str(self.slurm_conf), "-N", host.hostname]
        with open(self.node_dir(host) / "slurmd.out", "ab") as log:
            self._slurmds[host.name] = self._popen(argv, log, f"slurmd-{host.name}")
        with contextlib.suppress(ValueError):
            self._state.get("nodes_stopped", []).remove(host.name)

    def slurmd_pid(self, host: TestHost | str) -> Optional[int]:
        """PID of the running slurmd of `host` (None when stopped)."""
        proc = self._slurmds.get(self.host_of(host).name)
        return proc.pid if proc is not None and proc.poll() is None else None

    def daemon_pids(self) -> dict[str, int]:
        """PIDs of the running daemons: ``munged``, ``slurmctld``, ``slurmd:<node name>``
        (for tests that prove they are gone after stop())."""
        out = {name: proc.pid for name, proc in (("munged", self._munged),
                                                  ("slurmctld", self._ctld))
               if proc is not None and proc.poll() is None}
        for h in self.hosts:
            if self.slurmd_pid(h):
                out[f"slurmd:{h.hostname}"] = self.slurmd_pid(h)
        return out

    def check_alive(self) -> None:
        """Raise :class:`SlurmClusterError` with the log tail if a daemon exited (a node
        stopped through :meth:`stop_node` excepted). Called by the waits; tests may too."""
        for what, proc, log in (("munged", self._munged, self.munge_dir / "munged.log"),
                                ("slurmctld", self._ctld, self.ctld_log)):
            if proc is not None and proc.poll() is not None:
                msg = f"{what} exited with {proc.returncode}; log {log}:\n{tail(log)}"
                raise SlurmClusterError(msg)
        for name, proc in self._slurmds.items():
            if proc.poll() is not None and name not in self._state.get("nodes_stopped", []):
                log = self.node_log(name)
                msg = (f"the slurmd of {name} exited with {proc.returncode}; log {log}:\n"
                       f"{tail(log)}\n{tail(self.node_dir(name) / 'slurmd.out', 5)}")
                raise SlurmClusterError(msg)

    def wait_nodes(self, timeout: float = 30, nodes: Optional[list[str]] = None) -> dict:
        """Wait until `nodes` (node names; default every node whose slurmd runs) are
        ``idle`` in sinfo; returns {node: state} of all nodes. Raises with log tails."""
        want = set(nodes if nodes is not None else
                   [h.hostname for h in self.hosts if self.slurmd_pid(h)])
        deadline = time.monotonic() + timeout
        states: dict = {}
        while time.monotonic() < deadline:
            self.check_alive()
            with contextlib.suppress(SlurmClusterError):
                states = self.node_states()
                if all(states.get(n) == "idle" for n in want):
                    return states
            time.sleep(0.2)
        logs = "\n".join(f"--- {self.node_log(h)}:\n{tail(self.node_log(h), 10)}"
                         for h in self.hosts)
        msg = (f"Slurm nodes {sorted(want)} not idle within {timeout}s (sinfo: {states})\n"
               f"--- {self.ctld_log}:\n{tail(self.ctld_log, 15)}\n{logs}")
        raise SlurmClusterError(msg)

    def stop_node(self, host: TestHost | str) -> None:
        """The node goes down under whatever runs there: its slurmd, every job step and
        every other process in its namespace are SIGKILLed and its link goes down (the
        bed's ``host.stop()``). The controller marks the node DOWN and its jobs NODE_FAIL
        after ~SlurmdTimeout (10 s) + a ping interval. Bring it back with start_node()."""
        host = self.host_of(host)
        self._state.setdefault("nodes_stopped", []).append(host.name)
        self.record()
        host.stop()
        proc = self._slurmds.get(host.name)
        if proc is not None:
            kill_and_wait([proc.pid], timeout=5)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)

    def start_node(self, host: TestHost | str, timeout: float = 60) -> None:
        """Bring a node stopped by :meth:`stop_node` back (its host, then its slurmd) and
        wait until it is ``idle`` again (ReturnToService=2)."""
        host = self.host_of(host)
        if not host.is_running:
            host.start()
        if not self.slurmd_pid(host):
            self._launch_slurmd(host)
            self.record()
        self.wait_nodes(timeout, nodes=[host.hostname])

    def _stop_daemons(self) -> list[str]:
        procs = [p for p in [*self._slurmds.values(), self._ctld, self._munged]
                 if p is not None]
        left = kill_and_wait([p.pid for p in procs if p.poll() is None])
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(5)
        return [f"daemons {left} survived SIGKILL"] if left else []
