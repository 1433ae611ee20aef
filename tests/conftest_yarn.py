"""Pytest fixtures for the YARN RM emulator.

Use with ``pytest_plugins = ["tests.conftest_yarn"]`` (or import the fixtures).

* ``yarn_rm``: one started in-process RM (function scope).
* ``yarn_ha``: two RMs sharing one cluster, ``.active`` ACTIVE and
  ``.standby`` STANDBY; ``.failover()`` swaps them.
* ``yarn_rm_factory``: ``make(**options)`` -> started RM with those
  :class:`~testing.yarn_emulator.rm.YarnRM` / ``YarnCluster`` options.

* ``kerberized_rm``: a real MIT KDC and an RM that accepts only SPNEGO (see below).

Every RM is stopped at teardown, which kills every AM process group it started.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pytest

from testing.kdc import TestKDC, missing_tools
from testing.yarn_emulator import YarnCluster, YarnRM
from tests.requirements import require


@dataclass
class YarnHA:
    cluster: YarnCluster
    rm1: YarnRM
    rm2: YarnRM

    @property
    def active(self) -> YarnRM:
        return self.cluster.active

    @property
    def standby(self) -> YarnRM:
        return self.rm2 if self.cluster.active is self.rm1 else self.rm1

    @property
    def urls(self) -> list:
        return [self.rm1.url, self.rm2.url]

    def failover(self) -> YarnRM:
        return self.cluster.failover()


@pytest.fixture
def yarn_rm_factory(tmp_path):
    started: list = []

    def make(**options) -> YarnRM:
        options.setdefault("work_dir", str(tmp_path / f"yarn-{len(started)}"))
        rm = YarnRM(**options)
        started.append(rm)
        return rm.start()

    yield make
    for rm in reversed(started):
        rm.stop()


@pytest.fixture
def yarn_rm(yarn_rm_factory) -> YarnRM:
    return yarn_rm_factory()


@pytest.fixture
def yarn_ha(tmp_path):
    cluster = YarnCluster(work_dir=str(tmp_path / "yarn-ha"))
    rm1 = YarnRM(cluster=cluster)
    rm2 = YarnRM(cluster=cluster, standby=True)
    try:
        rm1.start()
        rm2.start()
        yield YarnHA(cluster, rm1, rm2)
    finally:
        rm2.stop()
        rm1.stop()
        cluster.shutdown()


@dataclass
class KerberizedRM:
    """An RM emulator that accepts only SPNEGO tokens for ``HTTP/127.0.0.1@JRK.TEST``."""

    rm: YarnRM
    kdc: TestKDC
    user: str  # the server user's principal, with a ticket in ``ccache``
    user_keytab: Path
    ccache: Path
    folder: Path


@pytest.fixture
def kerberized_rm(tmp_path, monkeypatch):
    """A real MIT KDC (private realm on loopback), a Kerberos-only RM and a ticket.

    The test process (where the Jupyter Server under test runs) gets the realm's
    ``KRB5_CONFIG`` and a private ``KRB5CCNAME`` holding ``jupyter@JRK.TEST``'s ticket, as
    after ``kinit``. The KDC is stopped and the RM with it at teardown.
    """
    missing = missing_tools()
    require(not missing, "an MIT Kerberos KDC", f"apt-get install {' '.join(missing)}")
    require(
        importlib.util.find_spec("gssapi") is not None
        and importlib.util.find_spec("requests_kerberos") is not None,
        "python-gssapi and requests-kerberos",
        "pip install 'jupyter_remote_kernels[kerberos,test]'",
    )
    folder = tmp_path / "kerberos"
    kdc = TestKDC(folder)
    kdc.start()
    rm = None
    try:
        for name, value in kdc.env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("KRB5_TRACE")
        kdc.add_principal("HTTP/127.0.0.1", folder / "rm.keytab")
        user = kdc.add_principal("jupyter", folder / "jupyter.keytab")
        ccache = folder / "ccache"
        kdc.kinit(user, folder / "jupyter.keytab", ccache)
        monkeypatch.setenv("KRB5CCNAME", f"FILE:{ccache}")
        rm = YarnRM(spnego_keytab=str(folder / "rm.keytab"), work_dir=str(tmp_path / "yarn"))
        rm.start()
        yield KerberizedRM(rm, kdc, user, folder / "jupyter.keytab", ccache, folder)
    finally:
        if rm is not None:
            rm.stop()
        kdc.stop()
