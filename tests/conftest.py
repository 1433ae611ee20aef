"""Shared fixtures: a real Jupyter Server with the extension, kernelspecs, guards."""

from __future__ import annotations

import tempfile

import pytest
from blockbuster import BlockBuster

from .abuse import COUNTS
from .kernels import shipped_local_spec, write_kernelspec

pytest_plugins = [
    "pytest_jupyter.jupyter_server",
    "tests.conftest_sshbed",
    "tests.conftest_yarn",
    "tests.conftest_yarncluster",
    "tests.conftest_slurm",
    "tests.watchdog",
]


@pytest.fixture
def jp_server_config():
    """The server under test loads the extension exactly as an installed one would."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_remote_kernels": True},
        },
    }


@pytest.fixture
def kernels_dir(jp_kernel_dir):
    """The test's kernelspec folder, holding the shipped default spec as ``remote-python``."""
    write_kernelspec(jp_kernel_dir, "remote-python", shipped_local_spec())
    return jp_kernel_dir


@pytest.fixture
def own_tmpdir(tmp_path, monkeypatch):
    """A temporary folder of the test's own, the TMPDIR of everything it starts.

    The server, its launchers and kernels (and the YARN emulator's containers) write their
    temporary files here, so a test looks for leftovers in a folder it made, never in the
    whole system temporary folder (see ``tests.secret_search.files_containing``).
    """
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)  # computed again from TMPDIR
    return folder


@pytest.fixture
def no_blocking():
    """Fail any blocking call made on the event loop from jupyter_remote_kernels' code."""
    guard = BlockBuster(scanned_modules=["jupyter_remote_kernels"])
    guard.activate()
    yield guard
    guard.deactivate()


def pytest_terminal_summary(terminalreporter):
    """Print the fault and abuse suite's counts (quoted in SECURITY.md)."""

    if COUNTS:
        terminalreporter.write_line(
            f"abuse suite: {COUNTS['inputs']} hostile inputs tried, "
            f"{COUNTS['faults']} faults injected, {COUNTS['cycles']} ordinary start/stop "
            f"cycles, {COUNTS['leaked']} processes leaked"
        )
