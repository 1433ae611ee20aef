"""Where a kernel's secrets must not be: the argv of any process, files the test's processes
wrote. Used by the security tests (tests/local/test_security.py, test_launch_secrets.py)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

__all__ = ["SHARED_FOLDERS", "files_containing", "launch_secrets", "secrets_in_argv"]

#: Folders other programs share, never searched whole (see :func:`files_containing`).
SHARED_FOLDERS = frozenset(
    Path(p).resolve() for p in ("/", "/tmp", "/var/tmp", "/dev/shm", tempfile.gettempdir())
)


def secrets_in_argv(secrets: dict[str, bytes]) -> list[str]:
    """``"<name> in argv of pid N: <argv>"`` for every live process whose argv holds a secret.

    Every process on this machine is looked at; the SSH bed's and the YARN emulator's hosts
    share its PID space, so their launchers and kernels are included.
    """
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        for name, secret in secrets.items():
            if secret and secret in cmdline:
                argv = cmdline.replace(b"\0", b" ").decode(errors="replace")[:200]
                found.append(f"{name} in argv of pid {entry}: {argv}")
    return found


def files_containing(secrets: dict[str, bytes], roots: list[Path]) -> list[str]:
    """``"<name> in <path>"`` for every file under ``roots`` holding one of ``secrets``.

    ``roots`` are folders the test made (its ``tmp_path``, the temporary folder it gave the
    processes it started: the ``own_tmpdir`` fixture, a bed's work folder), never the system's
    temporary folder or ``/``: other programs keep there what must not be read (a chroot's
    ``dev/zero`` never ends, a FIFO blocks its reader). Only regular files are read, symbolic
    links are not followed, and a file is opened without blocking and read at most 5 MB.
    Files of other sessions may vanish while we look: those are passed over.
    """
    hits = []
    for root in roots:
        if Path(root).resolve() in SHARED_FOLDERS:
            msg = f"files_containing: {root} is not a folder the test made; look in one that is"
            raise ValueError(msg)
        for folder, _dirs, files in os.walk(root):  # does not follow symbolic links
            for file in files:
                path = os.path.join(folder, file)
                data = _regular_file_head(path, 5_000_000)
                if data is not None:
                    hits += [f"{name} in {path}" for name, s in secrets.items() if s and s in data]
    return hits


def _regular_file_head(path: str, limit: int) -> bytes | None:
    """The file's content if it is a regular file under ``limit`` bytes, else None."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        # O_NONBLOCK: should it have become a FIFO since the lstat, opening it does not block.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size >= limit:
            return None
        chunks, size = [], 0
        while size < limit:
            chunk = os.read(fd, min(1 << 20, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


async def launch_secrets(km) -> dict[str, bytes]:
    """The secrets of a kernel's current launch: its signing key and its launch secret."""
    info = await km.provisioner.get_provisioner_info()
    auth_key = info["auth_key"].encode()
    assert len(km.session.key) >= 32 and len(auth_key) == 64
    return {"signing key": bytes(km.session.key), "launch secret": auth_key}
