"""One factory for the session fixtures of the real clusters (YARN, Slurm, next Kubernetes).

Each fixture checks the cluster's parts first (failing, or skipping where the caller's check
allows, with what to install), starts the cluster in a folder of its own, yields it to the
session's tests and stops it at the end, failing when anything of it was left.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

__all__ = ["real_cluster_fixture"]


def real_cluster_fixture(
    name: str,
    make: Callable[..., Any],
    error: type[Exception],
    check: Callable[[], None],
    what: str,
    doc: str,
) -> Any:
    """A session fixture ``name``: ``check()`` (may raise ``error`` or call ``pytest.fail``
    / ``require``), ``make(workdir=...)``, ``start()``, yield, ``stop()``."""

    def fixture(tmp_path_factory):
        try:
            check()
        except error as exc:
            pytest.fail(str(exc), pytrace=False)
        cluster = make(workdir=tmp_path_factory.mktemp(name))
        try:
            cluster.start()
        except error as exc:
            pytest.fail(f"the real {what} did not start: {exc}", pytrace=False)
        try:
            yield cluster
        finally:
            cluster.stop()

    fixture.__doc__ = doc
    return pytest.fixture(scope="session", name=name)(fixture)
