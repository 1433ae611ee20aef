"""Pytest plugin: a hung test fails the run in minutes, with every thread's stack printed.

pytest-timeout (``timeout`` in pyproject.toml, method ``signal``) interrupts a test once, in
the main thread; a teardown that hangs again after that (a Jupyter Server's shutdown waiting
on a stuck worker thread, the event loop's executor) would hold the run until CI's own limit,
printing nothing. So each test also gets a watchdog (:mod:`faulthandler`, a C-level timer
thread that needs neither the GIL's owner nor the event loop): past its timeout plus
``hang_grace`` seconds it prints the stack of every thread and exits 1. The interpreter's
exit after the summary gets ``hang_grace`` too, and SIGUSR1 prints the stacks (``timeout -s
USR1`` around pytest in .ci/run, before its SIGKILL; not SIGTERM, which the in-process
Jupyter Server takes over with a handler of its own). Do not set pytest's own
``faulthandler_timeout``: there is one such timer per process, and this plugin owns it.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import time

import pytest

_DUMP_FD: list[int] = []
#: When the running test's watchdog fires (time.monotonic()), while one is armed.
_DEADLINE: list[float] = []


def pytest_addoption(parser):
    parser.addini(
        "hang_grace",
        "seconds a test may run past its timeout before the run stops with all stacks",
        default="120",
    )


def pytest_configure(config):
    """Keep a copy of the real stderr (pytest captures fd 2 while tests run)."""
    fd = os.dup(2)
    _DUMP_FD.append(fd)
    faulthandler.register(signal.SIGUSR1, file=fd, all_threads=True)


def _grace(config) -> float:
    return float(config.getini("hang_grace"))


def _test_timeout(item) -> float:
    marker = item.get_closest_marker("timeout")
    if marker is not None and (marker.args or "timeout" in marker.kwargs):
        value = marker.args[0] if marker.args else marker.kwargs["timeout"]
    else:
        value = item.config.getini("timeout")
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _arm(seconds: float) -> None:
    faulthandler.dump_traceback_later(max(1.0, seconds), exit=True, file=_DUMP_FD[0])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Arm the watchdog over setup, call and teardown of one test."""
    limit = _test_timeout(item)
    armed = limit > 0 and bool(_DUMP_FD) and not item.config.getoption("usepdb", False)
    if armed:
        _DEADLINE[:] = [time.monotonic() + limit + _grace(item.config)]
        _arm(limit + _grace(item.config))
    try:
        yield
    finally:
        if armed:
            _DEADLINE.clear()
            faulthandler.cancel_dump_traceback_later()


@pytest.hookimpl(trylast=True)
def pytest_exception_interact(node, call, report):
    """pytest's faulthandler plugin cancels the timer whenever a phase fails (for pdb);
    the teardown after a failure is exactly where a second hang happens: arm it again."""
    if _DEADLINE and _DUMP_FD:
        _arm(_DEADLINE[0] - time.monotonic())


def pytest_unconfigure(config):
    """The interpreter's exit joins leftover worker threads (concurrent.futures): a stuck
    one would hang the run after its summary."""
    if _DUMP_FD:
        faulthandler.dump_traceback_later(_grace(config), exit=True, file=_DUMP_FD[0])
