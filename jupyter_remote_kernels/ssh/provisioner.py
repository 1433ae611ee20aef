"""The ssh provisioner: the launcher runs on one of the kernelspec's ``remote_hosts``.

Enterprise Gateway's ``DistributedProcessProxy``, without its blocking SSH calls and shell
injection: connections are pooled per host and driven from worker threads
(:mod:`.pool`, :mod:`.connections`), the launcher script, environment and secrets travel
over the channel's stdin (:mod:`.remote`), the kernel is detached from the SSH session once
it called back, and ``poll()`` pings the communication port (the base class), never a new
SSH command.
The local machine is a host like any other: it is reached over SSH too.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from typing import Any, Optional

from ..errors import PlacementError
from ..launch import protocol
from ..netutil import resolve, route_ip
from ..provisioning import LauncherProvisionerBase
from .balancer import HostBalancer, balancer_of
from .connections import SSHConnections, connections_of
from .pool import SSHHostError, SSHTarget, parse_host
from .remote import (
    SENT_LAUNCHER,
    RemoteLaunch,
    bootstrap_code,
    launcher_payload,
    remote_command,
    remote_input,
)
from .settings import SSHSettings

__all__ = ["SSHProvisioner"]

_PYTHON_NAMES = {"python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"}


class SSHProvisioner(SSHSettings, LauncherProvisionerBase):  # type:ignore[misc]
    """Starts the launcher over SSH on one of ``remote_hosts``."""

    kind = "ssh"
    launch_env_names = frozenset({"KERNEL_REMOTE_HOST"})
    cwd_from = "KERNEL_WORKING_DIR"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._plan: list[SSHTarget] = []
        self._slot: Optional[SSHTarget] = None
        self._target: Optional[SSHTarget] = None
        self._target_ip = ""
        self._previous: Optional[SSHTarget] = None
        self._launch: Optional[RemoteLaunch] = None
        self._watch: Optional[asyncio.Future] = None
        self._launcher_pid: Optional[int] = None

    # ------------------------------------------------------------------ hosts

    def target_for(self, spec: str, login: str = "") -> SSHTarget:
        """The pool target of one ``remote_hosts`` entry, with this kernelspec's settings;
        ``login``, when given, is the user logged in as (login_as_kernel_user)."""
        user, host, port = parse_host(spec)
        proxy = None
        if self.proxy_jump:
            puser, phost, pport = parse_host(self.proxy_jump)
            proxy = self._make_target(phost, puser, pport)
        return self._make_target(host, login or user, port, proxy)

    def _make_target(
        self, host: str, user: str, port: Optional[int], proxy: Optional[SSHTarget] = None
    ) -> SSHTarget:
        return SSHTarget(
            host=host,
            port=port or self.remote_port,
            user=user or self.remote_user or getpass.getuser(),
            key_file=self.ssh_key_file,
            known_hosts=self.known_hosts_file,
            reject_unknown=self.reject_unknown_host_keys,
            allow_agent=self.allow_agent,
            connect_timeout=self.connect_timeout,
            proxy=proxy,
            max_channels=self.max_channels_per_connection,
        )

    def host_plan(self, env: dict[str, str]) -> list[SSHTarget]:
        """The hosts to try, in order; the first one's slot is taken at once.

        Taking the slot here, before any await, keeps least-loaded right when many starts
        arrive together (the very first ones included).
        """
        login = env.get("KERNEL_USERNAME", "") if self.login_as_kernel_user else ""
        hosts = [self.target_for(spec, login) for spec in self.remote_hosts]
        if not hosts:
            msg = (
                f"Kernelspec '{self.parent.kernel_name}' has no remote_hosts; set "
                "metadata.process_proxy.config.remote_hosts (or SSHProvisioner.remote_hosts)."
            )
            raise PlacementError(msg)
        hint = (env.get("KERNEL_REMOTE_HOST") or "").strip()
        if hint:
            chosen = [t for s, t in zip(self.remote_hosts, hosts) if hint in (s, t.host, t.label)]
            if not chosen:
                msg = (
                    f"KERNEL_REMOTE_HOST {hint!r} is not one of kernelspec "
                    f"'{self.parent.kernel_name}''s remote_hosts: {', '.join(self.remote_hosts)}"
                )
                raise PlacementError(msg)
            self._take_slot(chosen[0])
            return chosen[:1]
        self._free_slot()
        plan = self.balancer.plan(hosts, self.load_balancing, self._previous)
        self._slot = plan[0]
        return plan

    @property
    def connections(self) -> SSHConnections:
        """The server's SSH connections, agents and worker threads."""
        return connections_of(self.services)

    @property
    def balancer(self) -> HostBalancer:
        """The server's per-host kernel counts and round-robin turns."""
        return balancer_of(self.services)

    def _take_slot(self, target: SSHTarget) -> None:
        self._free_slot()
        self._slot = target
        self.balancer.take(target)

    def _free_slot(self) -> None:
        if self._slot is not None:
            self.balancer.free(self._slot)
            self._slot = None

    # ------------------------------------------------------------------ base hooks

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """Choose the hosts to try, then let the base class format argv.

        Called by ``KernelManager.pre_start_kernel`` before every launch, restarts included.
        """
        self._plan = self.host_plan(kwargs.get("env") or {})
        try:
            return await super().pre_launch(**kwargs)
        except BaseException:
            self._free_slot()
            raise

    async def response_ip(self) -> str:
        if self.callback_ip:
            return self.callback_ip
        return await self.connections.call(route_ip, self._plan[0].host)

    def kernel_bind_ip(self) -> str:
        return self._target_ip or "0.0.0.0"  # noqa: S104  (replaced per host at launch)

    def connect_ip(self, info: dict[str, Any]) -> str:
        return self._target_ip

    def launcher_location(self) -> str:
        return SENT_LAUNCHER

    def format_command(self, cmd: list[str], values: dict[str, str]) -> list[str]:
        """Fill placeholders; a bare ``python`` runs the hosts' Python, not the server's.

        jupyter_client turns a leading ``python`` into the server's ``sys.executable``,
        which need not exist on a host: the kernelspec's word (or ``python``) is used.
        """
        cmd = super().format_command(cmd, values)
        spec_argv = list(getattr(self.kernel_spec, "argv", None) or [])
        if cmd and spec_argv and spec_argv[0] in _PYTHON_NAMES:
            cmd[0] = self.python or spec_argv[0]
        elif cmd and self.python and cmd[0] in _PYTHON_NAMES | {sys.executable}:
            cmd[0] = self.python
        return cmd

    def _remote_env(self, env: dict[str, str]) -> dict[str, str]:
        """What the kernel gets on the host: the kernelspec's env and the KERNEL_* values.

        The server's own environment stays here (its PATH would be wrong on a host).
        """
        spec_env = getattr(self.kernel_spec, "env", None) or {}
        names = set(spec_env) | {k for k in env if k.startswith(("KERNEL_", "JPY_"))}
        return {k: str(env[k]) for k in sorted(names) if k in env}

    async def start_launcher(
        self, cmd: list[str], env: dict[str, str], cwd: Optional[str], bundle: dict[str, Any]
    ) -> None:
        """Try the planned hosts in turn until one runs the launcher.

        A host that cannot be reached, authenticated or launched on is skipped; when none
        works, :class:`PlacementError` lists every host and why, before the launch timeout.
        """
        if len(cmd) < 2:
            msg = "an ssh kernelspec's argv must be [python, {launcher}, options...]"
            raise PlacementError(msg)
        loop = asyncio.get_running_loop()
        timeout = self.launch_timeout_for(env)
        deadline = loop.time() + timeout - min(1.0, timeout * 0.1)
        # Files read off the event loop (bootstrap_code caches what remote_input sends).
        await self.connections.call(bootstrap_code)
        files, script = ((), b"")
        if cmd[1] == SENT_LAUNCHER:  # else a path on the host, its sibling modules beside it
            files, script = await self.connections.call(launcher_payload)
        failures: list[str] = []
        for target in self._plan:
            remaining = deadline - loop.time()
            if remaining <= 0.2:
                failures.append(f"{target.label}: not tried, the launch timeout ran out")
                continue
            if self._slot != target:
                self._take_slot(target)
            try:
                await self._start_on(
                    target=target,
                    cmd=cmd,
                    env=env,
                    bundle=bundle,
                    files=files,
                    script=script,
                    timeout=remaining,
                )
                return
            except SSHHostError as exc:
                self.log.warning(
                    "Kernel %s: host %s skipped: %s", self.kernel_id, target.label, exc
                )
                failures.append(f"{target.label}: {exc}")
                self._free_slot()
        msg = (
            f"Kernel {self.kernel_id} could not start on any host of kernelspec "
            f"'{self.parent.kernel_name}':\n" + "\n".join(f"  - {line}" for line in failures)
        )
        raise PlacementError(msg)

    async def _start_on(
        self,
        *,
        target: SSHTarget,
        cmd: list[str],
        env: dict[str, str],
        bundle: dict[str, Any],
        files: tuple[tuple[str, int], ...],
        script: bytes,
        timeout: float,
    ) -> None:
        self.placement.host = target.host
        self.placement.set_phase("starting", f"ssh {target.label}")
        try:
            ip = await self.connections.call(resolve, target.host)
        except OSError as exc:
            msg = f"cannot resolve {target.host}: {exc.strerror or exc}"
            raise SSHHostError(msg) from exc
        if not self.callback_ip:
            local = await self.connections.call(route_ip, ip)
            address = await self.response_listener().address_for(local)
            if address != self.response_address:
                cmd = [arg.replace(self.response_address, address) for arg in cmd]
        fields = dict(bundle)
        if not self.bind_all_interfaces:
            # The bundle was made before the host was known: bind the chosen host's address.
            fields["ip"] = ip
        header = {
            "files": files,
            "env": self._remote_env(env),
            "cwd": env.get("KERNEL_WORKING_DIR") or self.remote_working_dir,
            "modules": [] if self.kernel_argv else [self.kernel_class_name.split(".", 1)[0]],
        }
        launch = RemoteLaunch(self.connections.pool, target)
        self._launch, self._target, self._target_ip = launch, target, ip
        agent = await self._agent(target, cmd[0], timeout) if self.host_agent else None
        stdin = remote_input(protocol.line(header), script, protocol.encode_bundle(fields))
        try:
            self._launcher_pid = await self.connections.call(
                launch.start,
                remote_command(cmd[0], cmd[1], cmd[2:]),
                stdin,
                timeout,
                agent,
                cmd[1:],
            )
        except asyncio.CancelledError:
            launch.abandon()
            raise
        except SSHHostError:
            self._launch = None
            raise
        self.placement.pid = self._launcher_pid
        self._watch = asyncio.ensure_future(self.connections.call(launch.watch))

    async def _agent(self, target: SSHTarget, python: str, timeout: float) -> Any:
        """The host's launch agent, or None (then the launch runs its own SSH command)."""
        try:
            return await self.connections.call(
                self.connections.agents.agent_for, target, python, min(timeout, 10.0)
            )
        except SSHHostError as exc:
            self.log.info(
                "Kernel %s: no launch agent on %s (%s); launching with an SSH command",
                self.kernel_id,
                target.label,
                exc,
            )
            return None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        """Launch (see the base class), then detach the launcher from its SSH session.

        Called by ``KernelManager.start_kernel`` and on restart.
        """
        info = await super().launch_kernel(cmd, **kwargs)
        launch, self._launch = self._launch, None
        if launch is not None:
            try:
                await self.connections.call(launch.detach)
            except Exception as exc:
                self.log.warning("Kernel %s: detaching from SSH failed: %s", self.kernel_id, exc)
        await self._end_watch()
        return info

    async def _end_watch(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            try:
                await asyncio.wait_for(watch, 10)
            except Exception as exc:
                self.log.debug("Kernel %s: SSH watcher ended with %r", self.kernel_id, exc)

    async def launcher_exit_code(self) -> Optional[int]:
        """Known only while the launch is attached to its SSH session (else None)."""
        return self._launch.exit_code if self._launch is not None else None

    def launcher_output_tail(self) -> str:
        launch = self._launch
        return "\n".join(launch.tail.splitlines()[-15:]) if launch is not None else ""

    async def force_stop(self) -> None:
        """Stop launcher and kernel without the communication port.

        While the launch is attached, its bootstrap stops them; afterwards an SSH command
        signals the launcher's and the kernel's process groups.
        """
        launch, self._launch = self._launch, None
        if launch is not None:
            await self.connections.call(launch.abort)
            await self._end_watch()
            return
        pids = (self._launcher_pid, self.kernel_pgid)
        groups = [g for g in pids if isinstance(g, int) and g > 1]
        if self._target is None or not groups:
            return
        targets = " ".join(f"-{g}" for g in groups)
        command = (
            f"kill -TERM -- {targets} 2>/dev/null; i=0; while kill -0 -- {targets} 2>/dev/null"
            f" && [ $i -lt 40 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL -- {targets}"
            " 2>/dev/null; true"
        )
        try:
            await self.connections.call(self.connections.pool.run, self._target, command, 15.0)
        except SSHHostError as exc:
            self.log.warning("Kernel %s: could not stop it over SSH: %s", self.kernel_id, exc)

    async def release(self, restart: bool) -> None:
        """Free the host slot and the SSH channel; a restart prefers the same host."""
        if self._launch is not None:
            await self.force_stop()
        await self._end_watch()
        # A restart stays on the kernel's host, unless that host stopped answering.
        self._previous = self._target if restart and not self.unreachable else None
        self._free_slot()
        self._launcher_pid = self.kernel_pgid = None

    # ------------------------------------------------------------------ persistence

    async def get_provisioner_info(self) -> dict[str, Any]:
        """Adds the host and process groups, so a later server can stop the kernel."""
        info = await super().get_provisioner_info()
        if self._target is not None:
            info["ssh"] = {
                "host": self._target.host,
                "port": self._target.port,
                "user": self._target.user,
                "ip": self._target_ip,
                "launcher_pid": self._launcher_pid,
                "kernel_pgid": self.kernel_pgid,
            }
        return info

    async def load_provisioner_info(self, provisioner_info: dict) -> None:
        """Re-attach to a kernel started by an earlier server; it counts on its host again."""
        await super().load_provisioner_info(provisioner_info)
        ssh = provisioner_info.get("ssh") or {}
        if ssh.get("host"):
            target = self.target_for(f"{ssh['user']}@{ssh['host']}:{ssh['port']}")
            self._target, self._target_ip = target, ssh.get("ip") or ""
            self._launcher_pid = ssh.get("launcher_pid")
            self.kernel_pgid = ssh.get("kernel_pgid")
            self._take_slot(target)
