"""Reattach: what a later server needs to find a running kernel again, and reconnecting.

The part of :class:`~.base.LauncherProvisionerBase` behind ``reattach_kernels_on_start``:
:meth:`get_provisioner_info` makes the record ``RemoteMappingKernelManager`` stores after
every launch; a later server's start with that record calls :meth:`load_provisioner_info`
and then :meth:`_reconnect` instead of launching.
"""

from __future__ import annotations

from typing import Any, Optional

from jupyter_client.connect import KernelConnectionInfo

from ..errors import LaunchError
from ..launch.link import LauncherLink

__all__ = ["ReattachMixin"]


class ReattachMixin:
    """Reattach records of a launcher-based provisioner (jupyter_client's persistence hooks)."""

    link: Optional[LauncherLink]
    placement: Any
    kernel_id: Any
    kernel_pgid: Optional[int]
    comm_timeout: float
    connection_info: Any
    log: Any
    _auth_key: Optional[str]

    async def _reconnect(self, record: dict[str, Any]) -> KernelConnectionInfo:
        """Reattach to a kernel an earlier server started, if its launcher still answers.

        Only an authenticated "alive" answer counts. A kernel found dead (or unreachable) is
        stopped by force before the error is raised: what may be left of it (a YARN
        application still RUNNING, a launcher's process group on its host) must not stay.
        """
        alive, reason = False, "its launcher does not answer"
        if self.link is not None and await self.launcher_exit_code() is None:
            alive, reason = await self.link.alive()
        if not alive:
            where = self.location_suffix()
            msg = f"Kernel {self.kernel_id}{where} is no longer running ({reason})"
            await self._abort_launch(msg)
            self.placement.set_phase("dead", error=msg)
            raise LaunchError(msg)
        self.placement.set_phase("ready", "reattached")
        connection = dict(record["connection_info"])
        connection["key"] = connection["key"].encode()
        self.connection_info = connection
        return self.connection_info

    async def get_provisioner_info(self) -> dict[str, Any]:
        """What a later server needs to find this kernel again (see ``load_provisioner_info``)."""
        info = await super().get_provisioner_info()
        info["placement"] = self.placement.to_dict()
        if self.link is not None:
            info["comm"] = self.link.record()
            info["auth_key"] = self._auth_key
            info["pgid"] = self.kernel_pgid
        info["pool"] = bool(getattr(self, "pool_kernel", False))
        return info

    async def load_provisioner_info(self, provisioner_info: dict) -> None:
        """Re-establish contact with a kernel started by an earlier server process."""
        await super().load_provisioner_info(provisioner_info)
        placement = provisioner_info.get("placement") or {}
        self.placement.restore(placement)
        self._auth_key = provisioner_info.get("auth_key")
        self.kernel_pgid = provisioner_info.get("pgid")
        self.pool_kernel = bool(provisioner_info.get("pool"))
        self.link = LauncherLink.from_record(
            provisioner_info.get("comm") or {},
            str(self.kernel_id),
            self._auth_key,
            self.comm_timeout,
            self.log,
        )
