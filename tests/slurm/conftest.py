"""The Slurm tests share one real cluster (the session's ``slurm_cluster``)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _nothing_left_for_the_next_test(slurm_cluster):
    """What a test left on the shared cluster (after a failure: each test asserts its own
    leftovers) is cancelled and killed, so it cannot fail the next test."""
    yield
    slurm_cluster.clear()
