"""A launcher-based provisioner's part in warm pools: launched for a pool, then handed out.

The pool (:mod:`jupyter_remote_kernels.pools`) starts a kernel with ``jrk_pool=True``; the
launcher then prepares the kernel to take a working directory and environment values later.
When a start request takes the kernel, :meth:`PoolingMixin.hand_out` sends them over the
communication port before the request is answered, and keeps them for the kernel's
restarts, which launch it anew as any kernel (not as a pool kernel).
"""

from __future__ import annotations

from typing import Any, ClassVar, Optional

from ..errors import LaunchError

__all__ = ["PoolingMixin", "handout_env"]

#: Request values a kernel never gets from a hand-out (it keeps its own id).
_KEPT = frozenset({"KERNEL_ID"})


def handout_env(env: dict[str, str]) -> dict[str, str]:
    """The environment values of a start request a handed-out kernel gets (``KERNEL_*``,
    ``JPY_*``): those a cold start would have given the kernel that a pool kernel, started
    before the request, could not have."""
    return {
        key: str(value)
        for key, value in env.items()
        if key.startswith(("KERNEL_", "JPY_")) and key not in _KEPT
    }


class PoolingMixin:
    """Pool launch flag, hand-out and the hand-out's values on restart."""

    #: Request ``KERNEL_*`` values that change where or how a kernel is launched: a start
    #: request setting any of them gets a fresh kernel, never a pool kernel. Backends add
    #: theirs (``KERNEL_REMOTE_HOST``, ``KERNEL_SLURM_*``, ...). ``KERNEL_USERNAME`` decides
    #: the pool (one per kernel user), not whether one serves.
    launch_env_names: ClassVar[frozenset[str]] = frozenset()
    #: Where a cold start puts the kernel: ``"request"`` (the notebook's folder, as on this
    #: machine and in a Slurm job), the request value it names (SSH hosts:
    #: ``KERNEL_WORKING_DIR``), or ``""`` (its own folder, as in a YARN container).
    cwd_from: ClassVar[str] = "request"

    link: Any
    placement: Any
    kernel_id: Any

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: True while this kernel was launched for a warm pool and not handed out yet.
        self.pool_kernel = False
        self._handout: Optional[tuple[Optional[str], dict[str, str]]] = None

    def take_pool_flag(self, kwargs: dict[str, Any]) -> None:
        """Read (and remove) ``jrk_pool`` from a launch's arguments; called by pre_launch.

        Only a kernel's first launch can be a pool launch: its restarts, after a hand-out,
        launch an ordinary kernel with the hand-out's working directory and values.
        """
        wanted = bool(kwargs.pop("jrk_pool", False))
        if self._handout is not None:
            cwd, values = self._handout
            if cwd is not None:
                kwargs["cwd"] = cwd
            kwargs["env"] = {**(kwargs.get("env") or {}), **values}
            self.pool_kernel = False
        else:
            self.pool_kernel = wanted

    def handout_cwd(self, cwd: Optional[str], env: dict[str, str]) -> Optional[str]:
        """The working directory a cold start of this request would give the kernel
        (None: the one it has), as :attr:`cwd_from` says."""
        if self.cwd_from == "request":
            return cwd
        return env.get(self.cwd_from) if self.cwd_from else None

    async def hand_out(self, cwd: Optional[str], env: dict[str, str]) -> None:
        """Give this pool kernel to a start request.

        Called by the pool, on the event loop, before the request is answered. The kernel
        changes to the request's working directory and takes its ``KERNEL_*`` / ``JPY_*``
        values, in its own process, confirmed over the communication port. Raises
        :class:`~jupyter_remote_kernels.errors.LaunchError` when the kernel cannot take
        them (gone, unreachable, a bad folder): the pool then drops it.
        """
        if self.link is None or not self.pool_kernel:
            msg = f"Kernel {self.kernel_id} is not a warm pool kernel"
            raise LaunchError(msg)
        where = self.handout_cwd(cwd, env)
        values = handout_env(env)
        try:
            await self.link.prepare(where, values)
        except Exception as exc:
            msg = f"Pool kernel {self.kernel_id} could not be handed out: {exc}"
            raise LaunchError(msg) from exc
        self._handout = (cwd, values)
        self.pool_kernel = False
        self.placement.set_phase("ready", "from the warm pool")
