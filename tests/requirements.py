"""Real parts a test needs (sshd, network namespaces, chromium, Java, a cluster, a KDC).

``require(condition, what, how_to_fix)`` is the one way a test or fixture says "I need X":
when ``condition`` is false the test is skipped with a reason naming what is missing and how
to install it, unless ``JRK_REQUIRE_REAL=1`` is set (``.ci/run`` sets it), where it fails
instead: CI must never be green without its real parts. pytest's ``-ra`` (pyproject) prints
every skip reason at the end of a run.

    from tests.requirements import require
    require(shutil.which("sshd"), "sshd", "apt-get install openssh-server")
"""

from __future__ import annotations

import os

import pytest

__all__ = ["REQUIRE_REAL_ENV", "real_parts_required", "require"]

REQUIRE_REAL_ENV = "JRK_REQUIRE_REAL"


def real_parts_required() -> bool:
    """True when a missing real part must fail the run (``JRK_REQUIRE_REAL=1``)."""
    return os.environ.get(REQUIRE_REAL_ENV, "").strip().lower() in ("1", "true", "yes")


def require(condition: object, what: str, how_to_fix: str) -> None:
    """Skip (or, with ``JRK_REQUIRE_REAL=1``, fail) the calling test unless ``condition``.

    ``what`` names the missing part ("sshd", "root for network namespaces"), ``how_to_fix``
    says how to get it ("apt-get install openssh-server").
    """
    if condition:
        return
    if real_parts_required():
        pytest.fail(
            f"{what} is missing ({REQUIRE_REAL_ENV}=1, so this fails instead of skipping): "
            f"{how_to_fix}",
            pytrace=False,
        )
    pytest.skip(f"{what} is missing: {how_to_fix}")
