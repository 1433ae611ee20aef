"""The benchmarks' own checks: an interrupt that did nothing is no measurement, and what a
configuration leaves behind (or a setup of ours that fails) fails the run.

The interrupt goes through the benchmark's step against a real `jupyter server` process of
``benchmarks.server`` (the same one the benchmark runs); the exit decisions through the
functions ``main()`` of ``benchmarks.run`` and ``benchmarks.yarn`` use."""

from __future__ import annotations

import sys

import pytest

from benchmarks import run as bench_run
from benchmarks import yarn as bench_yarn
from benchmarks.server import Server, execute
from benchmarks.steps import interrupt_once
from testing.specs import REMOTE_PYTHON, pids_mentioning

pytestmark = pytest.mark.timeout(240)

PLAIN = {
    "argv": [REMOTE_PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
    "display_name": "plain",
    "language": "python",
}

STUBBORN_SLEEP = """
import time
_sleep = time.sleep
def stubborn(seconds, _sleep=_sleep):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            _sleep(max(0.0, end - time.monotonic()))
        except KeyboardInterrupt:
            pass
time.sleep = stubborn
"""


def test_an_interrupt_that_does_nothing_fails_the_step(tmp_path):
    server = Server(tmp_path, sys.executable, {"plain": PLAIN}, {})
    kernel_id = ""
    try:
        kernel_id, _ = server.start("plain")
        ws = server.channel(kernel_id)
        try:
            took = interrupt_once(server, ws, kernel_id)
            assert took < 10, took  # a real interrupt: well before the 30 s sleep ends
            # Now the kernel's time.sleep swallows the interrupt: the POST succeeds and the
            # step's sleep runs its 30 s and ends "ok".
            reply = execute(ws, STUBBORN_SLEEP)
            assert reply["status"] == "ok", reply
            with pytest.raises(RuntimeError, match=r"was not interrupted.*status 'ok'"):
                interrupt_once(server, ws, kernel_id)
        finally:
            ws.close()
    finally:
        if kernel_id:
            server.delete(kernel_id)
        server.stop()
    assert not pids_mentioning(kernel_id)


def test_leftovers_fail_the_benchmark_run(capsys):
    results = {
        "plain": {"start_s": 0.6, "delete_left_5s": 0, "restart_left_5s": 0},
        "ours-ssh": {"start_s": 0.7, "delete_left_5s": 0, "restart_left_5s": 1},
        "pool-yarn": {"warm_s": 1.0, "stop_left_5s": 0, "apps_left_5s": 2},
        "pool-slurm": {"warm_s": 1.0, "stop_left_5s": 0, "jobs_left_5s": 1},
        "gp-ssh": {"start_s": 0.9, "stop_left_5s": 3},  # the peer's: reported only
    }
    assert bench_run.failures(results) == ["ours-ssh", "pool-yarn", "pool-slurm"]
    err = capsys.readouterr().err
    assert "FAILED ours-ssh: left behind: restart_left_5s 1" in err
    assert "FAILED pool-yarn: left behind: apps_left_5s 2" in err
    assert "FAILED gp-ssh: left behind: stop_left_5s 3" in err
    assert bench_run.failures({"plain": {"start_s": 0.6, "stop_left_5s": 0}}) == []


def test_yarn_benchmark_fails_on_our_setup_and_leftovers(capsys):
    def make(name):
        msg = f"no such file for {name}"
        raise FileNotFoundError(msg)

    results: dict = {}
    assert bench_yarn.make_configs(["ours-yarn", "gp-yarn"], make, results) == []
    assert "skipped" in results["gp-yarn"]  # the optional peer's venv is missing
    assert "FileNotFoundError: no such file for ours-yarn" in results["ours-yarn"]["failed"]
    assert bench_yarn.failures(results) == ["ours-yarn"]
    left = {"ours-yarn": {"start_s": 9.0, "delete_apps_left_5s": 1}, "gp-yarn": {"start_s": 9.0}}
    assert bench_yarn.failures(left) == ["ours-yarn"]
    assert "FAILED ours-yarn: left behind: delete_apps_left_5s 1" in capsys.readouterr().err
    assert bench_yarn.failures({"ours-yarn": {"start_s": 9.0, "stop_apps_left_5s": 0}}) == []
