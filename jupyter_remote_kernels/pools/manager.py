"""The kernel manager's side of warm pools: serving a start from a pool, views, reattach."""

from __future__ import annotations

import asyncio
import os
from typing import Any, Optional

from .pools import KernelPools
from .settings import PoolSettings

__all__ = ["PoolingManagerMixin"]


class PoolingManagerMixin(PoolSettings):
    """Pool traits and hooks of ``RemoteMappingKernelManager``.

    A start served from a pool goes through Jupyter Server's ordinary start with the pool
    kernel's id: :meth:`pre_start_kernel` then returns the pool kernel's manager instead of a
    new one, and that manager's ``start_kernel`` returns at once (the kernel runs already).
    """

    log: Any

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pools = KernelPools(self)
        # Pool kernel managers handed out, until pre_start_kernel takes them.
        self._handouts: dict[str, Any] = {}

    async def serve_from_pool(
        self, kernel_name: str, env: dict[str, str], path: Optional[str]
    ) -> Optional[str]:
        """The id of a pool kernel handed out to this start, or None (start a fresh one)."""
        if not self.pools.can_serve(kernel_name, env):
            return None
        cwd = None
        if path is not None:  # Jupyter Server's folder of the notebook (it looks at the disk)
            cwd = await asyncio.to_thread(self.cwd_for_path, path, env=env)  # type:ignore[attr-defined]
        km = await self.pools.take(kernel_name, env, cwd)
        if km is None:
            return None
        km.taken_from_pool = True
        self._handouts[km.kernel_id] = km
        self.log.info("Kernel %s handed out from the warm pool of %s", km.kernel_id, kernel_name)
        return str(km.kernel_id)

    def take_handout(self, kernel_id: Optional[str]) -> Optional[Any]:
        """The handed-out kernel manager of ``kernel_id``, once (called by pre_start_kernel)."""
        return self._handouts.pop(kernel_id, None) if kernel_id else None

    def pool_models(self) -> list[dict[str, Any]]:
        """``GET /api/remote-kernels/pools``."""
        return self.pools.models()

    def pool_placement_models(self) -> list[dict[str, Any]]:
        """Pool kernels in ``/api/remote-kernels`` (``phase: pooled`` once ready)."""
        models = []
        for kernel_id, km in self.pools.kernels().items():
            pool = self.pools.pool_of(km)
            user = pool.key.user if pool else None
            spec = km.kernel_spec
            models.append(
                {
                    "kernel_id": kernel_id,
                    "kernel_name": km.kernel_name,
                    "display_name": spec.display_name if spec else km.kernel_name,
                    "placement": km.placement.to_dict(),
                    "pool": {"kernel_name": km.kernel_name, "user": user},
                }
            )
        return models

    def pool_record(self, km: Any) -> Optional[dict[str, Any]]:
        """What a kernel's reattach record says about its pool (None: a user's kernel)."""
        pool = self.pools.pool_of(km)
        return {"user": pool.key.user} if pool is not None else None

    async def reattach_pool_kernel(self, record: dict[str, Any]) -> None:
        """Reconnect to a pool kernel an earlier server left and put it back in its pool.

        Raises what the reconnect raised when the kernel is gone (the caller cleans up).
        """
        kernel_id = record["kernel_id"]
        km = self.kernel_manager_factory(  # type:ignore[attr-defined]
            connection_file=os.path.join(self.connection_dir, f"kernel-{kernel_id}.json"),  # type:ignore[attr-defined]
            parent=self,
            log=self.log,
            kernel_name=record["kernel_name"],
            kernel_spec_manager=self.kernel_spec_manager,  # type:ignore[attr-defined]
        )
        km.use_kernel_spec(await asyncio.to_thread(self.load_kernel_spec, record["kernel_name"]))  # type:ignore[attr-defined]
        km.autorestart = False
        try:
            await asyncio.ensure_future(
                km.start_kernel(kernel_id=kernel_id, jrk_reattach=record, jrk_pool=True)
            )
        except Exception:
            if km.has_kernel:
                await km.shutdown_kernel(now=True)
            raise
        await self.pools.adopt(km, record["pool"]["user"])
