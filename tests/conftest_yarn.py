"""Pytest fixtures for the YARN RM emulator.

Use with ``pytest_plugins = ["tests.conftest_yarn"]`` (or import the fixtures).

* ``yarn_rm``: one started in-process RM (function scope).
* ``yarn_ha``: two RMs sharing one cluster, ``.active`` ACTIVE and
  ``.standby`` STANDBY; ``.failover()`` swaps them.
* ``yarn_rm_factory``: ``make(**options)`` -> started RM with those
  :class:`~tests.yarn_emulator.rm.YarnRM` / ``YarnCluster`` options.

Every RM is stopped at teardown, which kills every AM process group it started.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.yarn_emulator import YarnCluster, YarnRM


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
