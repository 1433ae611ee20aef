"""Where the server remembers its remote kernels, so a restarted server can reattach to them.

One JSON file per kernel in a private folder of Jupyter's runtime dir. A record holds the
kernel's connection info and its provisioner's info, secrets included, so the folder is
mode 0700 and every file 0600; writes are atomic (a temporary file, then ``os.replace``).
The methods do file I/O: callers on the event loop run them in a thread.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_runtime_dir
from traitlets import Bool, Instance, Unicode, default
from traitlets.config import LoggingConfigurable

__all__ = ["KernelStore", "ReattachingManagerMixin"]


def _decode_bytes(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode()
    msg = f"cannot store {type(value).__name__} in a kernel record"
    raise TypeError(msg)


class KernelStore(LoggingConfigurable):
    """A folder of kernel records; used by ``RemoteMappingKernelManager``."""

    directory = Unicode(
        config=True,
        help="Folder for the records of running remote kernels (default: a "
        "'remote-kernels' folder in Jupyter's runtime dir).",
    )

    @default("directory")
    def _default_directory(self) -> str:
        return str(Path(jupyter_runtime_dir()) / "remote-kernels")

    def _folder(self) -> Path:
        folder = Path(self.directory)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)
        return folder

    def save(self, kernel_id: str, record: dict[str, Any]) -> None:
        """Write one kernel's record atomically, readable by its owner only."""
        folder = self._folder()
        fd, tmp = tempfile.mkstemp(prefix=f".{kernel_id}.", dir=folder)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(record, f, default=_decode_bytes)
            os.replace(tmp, folder / f"{kernel_id}.json")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def remove(self, kernel_id: str) -> None:
        (Path(self.directory) / f"{kernel_id}.json").unlink(missing_ok=True)

    def load_all(self) -> dict[str, dict[str, Any]]:
        """Every readable record by kernel id; unreadable ones are logged and dropped."""
        folder = Path(self.directory)
        records = {}
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                record = json.loads(path.read_text())
                records[record["kernel_id"]] = record
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self.log.warning("Dropping unreadable kernel record %s: %s", path, exc)
                path.unlink(missing_ok=True)
        return records


class ReattachingManagerMixin(LoggingConfigurable):
    """The kernel manager's records of its kernels, and reattaching at server start.

    Needs of the manager: ``start_kernel``, ``connection_dir``, ``pool_record`` and
    ``reattach_pool_kernel`` (warm pool kernels go back to their pool).
    """

    kernel_store = Instance(KernelStore)
    reattach_kernels_on_start = Bool(
        True,
        config=True,
        help="Remember running remote kernels on disk and, when the server starts again, "
        "reattach to those still alive (they keep their state) and clean up the others.",
    )

    @default("kernel_store")
    def _default_kernel_store(self) -> KernelStore:
        return KernelStore(parent=self, log=self.log)

    async def remember_kernel(self, km: Any) -> None:
        """Record a started (or restarted) kernel for reattach (after every launch)."""
        if not self.reattach_kernels_on_start or km.provisioner is None:
            return
        info = await km.provisioner.get_provisioner_info()
        record = {
            "kernel_id": km.kernel_id,
            "kernel_name": km.kernel_name,
            "connection_info": km.get_connection_info(),
            "provisioner_info": info,
        }
        pool = self.pool_record(km)
        if pool is not None:
            record["pool"] = pool
        await asyncio.to_thread(self.kernel_store.save, km.kernel_id, record)

    async def forget_kernel(self, kernel_id: str) -> None:
        """Drop a kernel's record; called by provisioners when the kernel is gone for good."""
        await asyncio.to_thread(self.kernel_store.remove, kernel_id)

    async def reattach_kernels(self) -> list[str]:
        """Reattach to the kernels an earlier server left running; called at server start.

        Each recorded kernel goes through an ordinary start whose provisioner, instead of
        launching, reconnects to the launcher; a kernel found dead is cleaned up.
        Returns the ids reattached.
        """
        if not self.reattach_kernels_on_start:
            return []
        records = await asyncio.to_thread(self.kernel_store.load_all)
        reattached = []
        for kernel_id, record in records.items():
            if kernel_id in self:
                continue
            try:
                if record.get("pool"):
                    await self.reattach_pool_kernel(record)
                    continue
                await self.start_kernel(
                    kernel_id=kernel_id,
                    kernel_name=record["kernel_name"],
                    jrk_reattach=record,
                )
            except Exception as exc:
                self.log.warning("Kernel %s was not reattached: %s", kernel_id, exc)
                await self.forget_kernel(kernel_id)
                # The earlier server's connection file holds the kernel's key: remove it.
                connection_file = Path(self.connection_dir, f"kernel-{kernel_id}.json")
                await asyncio.to_thread(connection_file.unlink, missing_ok=True)
            else:
                reattached.append(kernel_id)
                self.log.info("Reattached to kernel %s", kernel_id)
        return reattached
