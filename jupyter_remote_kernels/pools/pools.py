"""The server's warm pools: filled in the background, taken from by start requests.

:class:`KernelPools` belongs to ``RemoteMappingKernelManager`` (its ``pools``). It reads the
kernelspecs every ``pool_check_interval`` (in a thread), keeps each pool at its target with at
most ``pool_max_launches`` pool launches at once (and none while users' own kernels are
launching), drops pool kernels that died and hands kernels out to start requests. A pool
kernel is an ordinary kernel manager of the server that is not in its kernel list: it is not
in ``/api/kernels``, the culler never sees it, and it becomes a user's kernel only through
:meth:`KernelPools.take`.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import re
import time
import uuid
from typing import Any, Optional

from ..errors import KernelspecError
from ..kernelspecs import provisioner_class
from ..provisioning.pooling import PoolingMixin
from .pool import PoolKey, WarmPool
from .refusals import RefusedPool, argv_refusal, load_refusal

__all__ = ["KernelPools"]

#: Seconds the server's stop waits for pool launches and pool kernels to stop.
CLOSE_TIMEOUT = 120.0


class KernelPools:
    """Every warm pool of one server (see the module's docstring)."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager
        self.log = manager.log
        self._pools: dict[PoolKey, WarmPool] = {}
        self._launches: dict[str, asyncio.Task] = {}
        self._stops: set[asyncio.Task] = set()
        self._runner: Optional[asyncio.Task] = None
        self._wake: Optional[asyncio.Event] = None
        self._closed = False
        self._warned: set[str] = set()
        #: Kernelspecs asking for a pool that cannot be made, by name (shown in models()).
        self._refused: dict[str, RefusedPool] = {}

    # ------------------------------------------------------------------ running

    def start(self) -> None:
        """Start filling the pools; called once the server runs (after reattach)."""
        if self._runner is None and not self._closed:
            self._wake = asyncio.Event()
            self._runner = asyncio.ensure_future(self._run())

    def wake(self) -> None:
        """Look at the pools now (a hand-out, a finished user launch)."""
        if self._wake is not None:
            self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        next_check = 0.0
        while not self._closed:
            try:
                if time.monotonic() >= next_check:
                    await self._sync_specs()
                    await self._drop_dead()
                    next_check = time.monotonic() + self.manager.pool_check_interval
                self._fill()
            except Exception:
                self.log.exception("Warm pools: a check failed")
            timeout = max(0.05, min(next_check - time.monotonic(), self._next_due()))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()

    def _next_due(self) -> float:
        """Seconds until a pool's retry or refill delay ends (or a while)."""
        now = time.monotonic()
        due = [
            max(pool.retry_at, pool.refill_at) - now
            for pool in self._pools.values()
            if pool.missing
        ]
        return min([d for d in due if d > 0] or [self.manager.pool_check_interval])

    async def close(self) -> None:
        """Stop every pool kernel and pool launch; called when the server stops."""
        self._closed = True
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._runner
        launching = [task for task in self._launches.values() if not task.done()]
        for task in launching:
            task.cancel()  # each stops what its launch started
        kernels = [km for pool in self._pools.values() for km in pool.ready]
        for pool in self._pools.values():
            pool.ready.clear()
        stopping = [task for task in self._stops if not task.done()]
        stopping += [asyncio.ensure_future(self._stop(km)) for km in kernels]
        if launching or stopping:
            _, pending = await asyncio.wait([*launching, *stopping], timeout=CLOSE_TIMEOUT)
            if pending:
                self.log.error(
                    "Warm pools: %d pool kernels did not stop within %.0f s",
                    len(pending),
                    CLOSE_TIMEOUT,
                )

    # ------------------------------------------------------------------ what to keep

    def _users(self) -> list[str]:
        own = getpass.getuser()
        mapping = self.manager.kernel_user_mapping
        users = [own, *(mapping[name] for name in self.manager.pool_users if name in mapping)]
        return list(dict.fromkeys(users))

    def _read_specs(
        self,
    ) -> tuple[dict[str, tuple[int, Any, frozenset[str]]], dict[str, RefusedPool]]:
        """kernelspec name -> (pool size, translated kernelspec, request names needing a
        fresh kernel); and kernelspec name -> why its pool cannot be made.

        Reads every kernelspec from disk: runs in a thread.
        """
        found: dict[str, tuple[int, Any, frozenset[str]]] = {}
        refused: dict[str, RefusedPool] = {}
        for name, resource_dir in sorted(
            self.manager.kernel_spec_manager.find_kernel_specs().items()
        ):
            try:
                spec = self.manager.load_kernel_spec(name)
            except Exception as exc:
                self.log.debug("Warm pools: kernelspec %s not read: %s", name, exc)
                refusal = load_refusal(name, resource_dir, exc, self.manager.pool_size)
                if refusal is not None:
                    refused[name] = refusal
                    self._warn_once(name, refusal.error)
                continue
            metadata = spec.metadata or {}
            pool = metadata.get("jrk_pool") or {}
            size = int(pool.get("pool_size", self.manager.pool_size))
            cls = pooling_class(name, metadata.get("kernel_provisioner") or {})
            if size and cls is None:
                if "pool_size" in pool and name not in self._warned:
                    self._warned.add(name)
                    self.log.warning(
                        "Kernelspec %s: pool_size is ignored: warm pools serve kernelspecs "
                        "placed through this package's launcher (a process_proxy naming "
                        "one of its backends)",
                        name,
                    )
                continue
            config = (metadata.get("kernel_provisioner") or {}).get("config") or {}
            if size and config.get("kernel_argv"):
                refused[name] = argv_refusal(name, spec, size, str(config["kernel_argv"][0]))
                self._warn_once(name, refused[name].error)
                continue
            if size and cls is not None:
                found[name] = (size, spec, launch_names(cls, spec))
        return found, refused

    def _warn_once(self, name: str, error: str) -> None:
        if name not in self._warned:
            self._warned.add(name)
            self.log.warning("Warm pool %s: %s", name, error)

    async def _sync_specs(self) -> None:
        specs, self._refused = await asyncio.to_thread(self._read_specs)
        wanted = {
            PoolKey(name, user): spec for name, spec in specs.items() for user in self._users()
        }
        for key, (size, spec, names) in wanted.items():
            pool = self._pools.setdefault(key, WarmPool(key))
            pool.target, pool.spec, pool.launch_env_names = size, spec, names
            pool.display_name = spec.display_name
        for key, pool in self._pools.items():
            if key not in wanted:
                pool.target = 0
            while len(pool.ready) > pool.target:
                self._stop_later(pool.ready.pop())
            surplus = len(pool.ready) + len(pool.launching) - pool.target
            for kernel_id in list(pool.launching)[::-1][: max(0, surplus)]:
                task = self._launches.get(kernel_id)
                if task is not None:
                    task.cancel()  # the launch stops what it started (a pending job, ...)

    async def _drop_dead(self) -> None:
        """Drop (and clean up) every idle pool kernel that is no longer alive."""
        for pool in list(self._pools.values()):
            for km in list(pool.ready):
                try:
                    alive = await km.is_alive()
                except Exception:
                    alive = False
                if not alive and km in pool.ready:
                    self.log.warning(
                        "Warm pool %s: kernel %s died; replacing it",
                        pool.key.kernel_name,
                        km.kernel_id,
                    )
                    pool.ready.remove(km)
                    self._stop_later(km)

    # ------------------------------------------------------------------ filling

    def _fill(self) -> None:
        if self._closed or self.manager.launching_kernels():
            return  # users' own launches first
        now = time.monotonic()
        running = sum(len(pool.launching) for pool in self._pools.values())
        for pool in self._pools.values():
            while (
                pool.missing
                and running < self.manager.pool_max_launches
                and now >= max(pool.retry_at, pool.refill_at)
            ):
                running += 1
                self._launch(pool)

    def _launch(self, pool: WarmPool) -> None:
        manager = self.manager
        kernel_id = str(uuid.uuid4())
        km = manager.kernel_manager_factory(
            connection_file=os.path.join(manager.connection_dir, f"kernel-{kernel_id}.json"),
            parent=manager,
            log=manager.log,
            kernel_name=pool.key.kernel_name,
            kernel_spec_manager=manager.kernel_spec_manager,
        )
        km.use_kernel_spec(pool.spec)  # read in a thread by _sync_specs
        km.autorestart = False  # a pool kernel that dies is replaced, not restarted
        pool.launching[kernel_id] = km
        task = asyncio.ensure_future(self._start(pool, km, kernel_id))
        self._launches[kernel_id] = task
        task.add_done_callback(lambda _: self._launches.pop(kernel_id, None))

    async def _start(self, pool: WarmPool, km: Any, kernel_id: str) -> None:
        env = {**os.environ, "KERNEL_USERNAME": pool.key.user}
        try:
            # A task of its own, as Jupyter's MultiKernelManager starts kernels (its
            # cancellation follows this one's).
            await asyncio.ensure_future(
                km.start_kernel(kernel_id=kernel_id, env=env, jrk_pool=True)
            )
        except asyncio.CancelledError:
            pool.launching.pop(kernel_id, None)
            await self._stop(km)
            raise
        except Exception as exc:
            pool.launching.pop(kernel_id, None)
            error = str(getattr(exc, "log_message", None) or exc)
            self.log.warning("Warm pool %s: launch failed: %s", pool.key.kernel_name, error)
            pool.failed(error, self.manager.pool_retry_interval)
            await self._stop(km)
            self.wake()
            return
        pool.launching.pop(kernel_id, None)
        link = km.provisioner.link
        preparable = km.provisioner.pool_kernel and link is not None and not link.legacy
        if not preparable:  # e.g. Enterprise Gateway's launcher in the argv
            error = (
                f"kernelspec {pool.key.kernel_name}: its launcher cannot take a user's folder "
                "and values after start; warm pools need this package's launcher"
            )
            pool.failed(error, self.manager.pool_retry_interval)
        if self._closed or len(pool.ready) >= pool.target or not preparable:
            await self._stop(km)
            return
        km.placement.set_phase("pooled", f"warm pool of {pool.key.kernel_name}")
        pool.filled(km)
        self.log.info("Warm pool %s: kernel %s ready", pool.key.kernel_name, kernel_id)
        self.wake()

    # ------------------------------------------------------------------ stopping

    async def _stop(self, km: Any) -> None:
        try:
            if km.has_kernel:
                await km.shutdown_kernel(now=True)
            else:
                await km.cleanup_resources()
        except Exception as exc:
            self.log.warning("Warm pools: stopping kernel %s failed: %s", km.kernel_id, exc)

    def _stop_later(self, km: Any) -> None:
        task = asyncio.ensure_future(self._stop(km))
        self._stops.add(task)
        task.add_done_callback(self._stops.discard)

    # ------------------------------------------------------------------ hand-out

    def can_serve(self, kernel_name: str, env: dict[str, str]) -> bool:
        """True when a pool has a ready kernel for this start request."""
        pool = self._pool_for(kernel_name, env)
        return pool is not None and bool(pool.ready)

    def _pool_for(self, kernel_name: str, env: dict[str, str]) -> Optional[WarmPool]:
        user = env.get("KERNEL_USERNAME") or getpass.getuser()
        pool = self._pools.get(PoolKey(kernel_name, user))
        return pool if pool is not None and pool.serves(env) else None

    async def take(
        self, kernel_name: str, env: dict[str, str], cwd: Optional[str]
    ) -> Optional[Any]:
        """A ready pool kernel handed out to a start request, or None (start a fresh one).

        Called by the manager's ``start_kernel`` on the event loop. The kernel leaves the
        pool before anything is awaited, so it is never given to two requests; one that
        cannot take the request's values (gone, unreachable) is dropped and the next tried.
        """
        pool = self._pool_for(kernel_name, env)
        if pool is None:
            return None
        while pool.ready:
            km = pool.ready.pop(0)
            pool.refill_at = time.monotonic() + self.manager.pool_refill_delay
            try:
                await km.provisioner.hand_out(cwd, env)
            except Exception as exc:
                self.log.warning("Warm pool %s: %s; dropped", kernel_name, exc)
                self._stop_later(km)
                continue
            km.autorestart = True
            km.start_restarter()
            self.wake()
            return km
        return None

    async def adopt(self, km: Any, user: str) -> None:
        """Put a reattached pool kernel back in its pool (server start, after a SIGKILL)."""
        key = PoolKey(km.kernel_name, user)
        pool = self._pools.setdefault(key, WarmPool(key))
        km.autorestart = False
        km.placement.set_phase("pooled", f"warm pool of {km.kernel_name} (reattached)")
        pool.filled(km)

    # ------------------------------------------------------------------ views

    def pool_of(self, km: Any) -> Optional[WarmPool]:
        """The pool a kernel manager is in (ready or launching), if any."""
        for pool in self._pools.values():
            if km in pool.ready or km in pool.launching.values():
                return pool
        return None

    def kernels(self) -> dict[str, Any]:
        """Every pool kernel (ready or launching) by kernel id."""
        return {
            str(km.kernel_id): km
            for pool in self._pools.values()
            for km in pool.kernels()
            if km.kernel_id
        }

    def models(self) -> list[dict[str, Any]]:
        """``GET /api/remote-kernels/pools``: each pool with a target, and each kernelspec
        asking for a pool that cannot be made (status ``failing``, ``detail`` says why)."""
        models = [
            pool.model()
            for pool in self._pools.values()
            if (pool.target or pool.ready) and pool.key.kernel_name not in self._refused
        ]
        users = self._users()
        models += [refused.model(user) for refused in self._refused.values() for user in users]
        return models


def pooling_class(kernel_name: str, stanza: dict[str, Any]) -> Optional[type]:
    """The kernelspec's provisioner class when it can keep a warm pool, else None."""
    try:
        cls = provisioner_class(kernel_name, str(stanza.get("provisioner_name") or ""))
    except KernelspecError:
        return None
    return cls if issubclass(cls, PoolingMixin) else None


def launch_names(cls: type, spec: Any) -> frozenset[str]:
    """Request values that need a fresh kernel: the backend's, and every ``KERNEL_*`` name
    the kernelspec's argv or env mentions (a launch script may read it)."""
    text = " ".join([*spec.argv, *(str(v) for v in (spec.env or {}).values())])
    mentioned = set(re.findall(r"KERNEL_[A-Z0-9_]+", text)) - {"KERNEL_ID", "KERNEL_USERNAME"}
    return frozenset(getattr(cls, "launch_env_names", frozenset()) | mentioned)
