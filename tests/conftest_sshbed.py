"""Pytest fixtures for the SSH test bed (testing/sshbed/).

Use them from tests/conftest.py with
``from tests.conftest_sshbed import ssh_bed, ssh_bed_factory  # noqa: F401``,
or as a plugin: ``pytest -p tests.conftest_sshbed`` / ``pytest_plugins`` in the root conftest.
"""

from __future__ import annotations

import os
import shutil

import pytest

from testing.sshbed import SSHD, SSHTestBed

from .requirements import require

__all__ = ["ssh_bed", "ssh_bed_factory"]


def _require_sshd() -> None:
    require(
        shutil.which("sshd") or os.access(SSHD, os.X_OK),
        "sshd",
        "Debian: apt-get install openssh-server",
    )


@pytest.fixture(scope="session")
def ssh_bed(tmp_path_factory):
    """A started bed of 2 normal hosts shared by the session. Tests that stop a host must
    start() it again; tests that need bad hosts or change hosts use ssh_bed_factory."""
    _require_sshd()
    bed = SSHTestBed(2, tmp_path_factory.mktemp("sshbed"))
    try:
        bed.start()
        yield bed
    finally:
        bed.stop()


@pytest.fixture
def ssh_bed_factory(tmp_path_factory):
    """Call ``ssh_bed_factory(n_hosts=2, extra_hosts=("refuse_key", "no_python", "down"),
    mode="auto")`` to get a started bed; every bed made is stopped at teardown."""
    _require_sshd()
    beds: list[SSHTestBed] = []

    def make(n_hosts: int = 2, **kwargs) -> SSHTestBed:
        bed = SSHTestBed(n_hosts, tmp_path_factory.mktemp("sshbed"), **kwargs)
        beds.append(bed)
        return bed.start()

    try:
        yield make
    finally:
        errors = []
        for bed in reversed(beds):
            try:
                bed.stop()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
