"""The run's watchdog (tests/watchdog.py): a test that hangs again after pytest-timeout
interrupted it stops the run with every thread's stack, instead of holding it forever."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HANGING = textwrap.dedent(
    """
    import threading
    import time

    import pytest


    @pytest.fixture
    def stuck_teardown():
        yield
        threading.Event().wait()  # hangs after pytest-timeout's one interrupt


    @pytest.mark.timeout(1)
    def test_hangs_twice(stuck_teardown):
        threading.Thread(target=time.sleep, args=(600,), name="stuck-worker").start()
        time.sleep(600)
    """
)


def test_a_hang_after_the_timeout_stops_the_run_with_all_stacks(tmp_path: Path):
    (tmp_path / "test_hang.py").write_text(HANGING)
    root = Path(__file__).resolve().parents[2]
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "tests.watchdog",
            "-p", "no:cacheprovider", "-o", "hang_grace=3", str(tmp_path / "test_hang.py"),
        ],
        cwd=root, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    assert elapsed < 60
    assert "Timeout" in result.stdout + result.stderr  # pytest-timeout's interrupt came first
    # faulthandler's dump: the main thread in the teardown, the worker thread too.
    assert "stuck_teardown" in result.stderr, result.stderr
    assert "Thread 0x" in result.stderr and result.stderr.count("Thread 0x") >= 2


def test_sigusr1_prints_every_threads_stack_and_the_run_goes_on(tmp_path: Path):
    """What .ci/run's ``timeout -s USR1`` gets from a run past its budget (SIGKILL follows)."""
    (tmp_path / "test_slow.py").write_text(
        "import time\n\ndef test_slow():\n    time.sleep(8)\n"
    )
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.watchdog", "-p", "no:cacheprovider",
         str(tmp_path / "test_slow.py")],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(4)  # well inside test_slow's sleep
        process.send_signal(signal.SIGUSR1)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert "test_slow" in err and "thread 0x" in err.lower(), err
    assert process.returncode == 0, out + err  # a dump, not a stop
