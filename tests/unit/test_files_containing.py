"""``tests.secret_search.files_containing`` (the leftover-secret search) on folders that hold what
a real machine's temporary folder may: a FIFO, device nodes (a chroot's ``dev/``), symbolic
links to devices. It must neither hang nor read without end, and it refuses shared folders.

It runs in a child process with a memory limit and a timeout: the search it replaced read
``dev/zero`` until the machine ran out of memory and blocked for good on opening a FIFO.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECRET = b"s3cr3t-" + os.urandom(8).hex().encode()

CHILD = """
import resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from tests.secret_search import files_containing
try:
    print(sorted(files_containing({"key": sys.argv[1].encode()}, [Path(p) for p in sys.argv[2:]])))
except ValueError as exc:
    print("refused:", exc)
"""


def search(*roots) -> str:
    """What files_containing prints in a child with 1 GB of memory, bounded in time."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, SECRET.decode(), *map(str, roots)],
            check=False, capture_output=True, text=True, timeout=60, env=env, cwd=REPO,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"files_containing hung (a FIFO, a device, a whole shared folder): {exc}")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def hostile_folder(root: Path) -> Path:
    """A folder as a test's temporary folder may look when other programs share it."""
    folder = root / "made-by-test"
    (folder / "rootfs" / "dev").mkdir(parents=True)
    (folder / "found.log").write_bytes(b"before " + SECRET + b" after")
    (folder / "big.bin").write_bytes(b"\0" * 6_000_000 + SECRET)  # over the size limit
    os.mkfifo(folder / "pipe")
    os.mkfifo(folder / "rootfs" / "dev" / "initctl")
    (folder / "zero-link").symlink_to("/dev/zero")
    (folder / "rootfs" / "dev" / "urandom-link").symlink_to("/dev/urandom")
    outside = root / "outside.txt"
    outside.write_bytes(SECRET)
    (folder / "outside-link").symlink_to(outside)  # not the test's folder: not followed
    if os.geteuid() == 0:  # real device nodes, as debootstrap makes them
        os.mknod(folder / "rootfs" / "dev" / "zero", stat.S_IFCHR | 0o666, os.makedev(1, 5))
        os.mknod(folder / "rootfs" / "dev" / "urandom", stat.S_IFCHR | 0o666, os.makedev(1, 9))
    return folder


def test_fifo_devices_and_links_are_passed_over(tmp_path):
    folder = hostile_folder(tmp_path)
    assert search(folder) == repr([f"key in {folder / 'found.log'}"])


def test_shared_folders_are_refused(tmp_path):
    for shared in ("/", "/tmp", tempfile.gettempdir()):
        assert search(tmp_path, shared).startswith("refused:"), shared
