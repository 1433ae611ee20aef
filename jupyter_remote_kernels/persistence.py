"""Where the server remembers its remote kernels, so a restarted server can reattach to them.

One JSON file per kernel in a private folder of Jupyter's runtime dir. A record holds the
kernel's connection info and its provisioner's info, secrets included, so the folder is
mode 0700 and every file 0600; writes are atomic (a temporary file, then ``os.replace``).
The methods do file I/O: callers on the event loop run them in a thread.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_runtime_dir
from traitlets import Unicode, default
from traitlets.config import LoggingConfigurable

__all__ = ["KernelStore"]


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
