"""``jupyter remote-kernels install slurm`` and ``check NAME`` against the real Slurm cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(300)


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_remote_kernels.cli", *args],
        capture_output=True, check=False, text=True, env=env, timeout=200,
    )  # fmt: skip


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "JUPYTER_PATH": str(tmp_path / "share" / "jupyter")}


def install(slurm_cluster, tmp_path, env, *extra: str) -> subprocess.CompletedProcess:
    return cli("install", "slurm", "--slurm-conf", slurm_cluster.env()["SLURM_CONF"],
               "--prefix", str(tmp_path), *extra, env=env)  # fmt: skip


def test_install_and_check_a_working_kernelspec(slurm_cluster, tmp_path, env):
    done = install(slurm_cluster, tmp_path, env, "--partition", "debug", "--time", "2:00:00",
                   "--python", sys.executable, "--name", "sl")
    assert done.returncode == 0, done.stderr
    spec = json.loads((tmp_path / "share/jupyter/kernels/sl/kernel.json").read_text())
    config = spec["metadata"]["process_proxy"]["config"]
    assert spec["argv"][0] == sys.executable and spec["metadata"]["process_proxy"]["class_name"]
    assert config["slurm_partition"] == "debug" and config["slurm_time"] == "2:00:00"
    checked = cli("check", "sl", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    assert [line.split()[:2] for line in lines[1:]] == [
        ["ok", "controller"], ["ok", "partition"], ["ok", "account"], ["ok", "python"],
    ], checked.stdout
    assert "debug: up" in checked.stdout and "ipykernel" in checked.stdout


def test_check_names_what_is_wrong(slurm_cluster, tmp_path, env):
    """A missing partition (listing the real ones) and a Python without ipykernel on the
    nodes (found by a real test job) fail the check with the fix."""
    assert install(slurm_cluster, tmp_path, env, "--partition", "gpu", "--name", "nogpu",
                   "--python", sys.executable).returncode == 0
    checked = cli("check", "nogpu", env=env)
    assert checked.returncode == 1
    assert "FAIL partition  Slurm has no partition 'gpu'" in checked.stdout, checked.stdout
    assert "debug, short, shared" in checked.stdout

    bare = subprocess.run(["/usr/bin/python3", "-c", "import ipykernel"], capture_output=True,
                          check=False)
    assert bare.returncode != 0, "this test needs a Python without ipykernel: /usr/bin/python3"
    assert install(slurm_cluster, tmp_path, env, "--partition", "debug", "--name", "bare",
                   "--python", "/usr/bin/python3").returncode == 0
    checked = cli("check", "bare", env=env)
    assert checked.returncode == 1
    assert "FAIL python" in checked.stdout and "No module named 'ipykernel'" in checked.stdout


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ((), "needs --partition"),
        (("--partition", "debug", "--time", "two hours"), "not a Slurm time limit"),
        (("--partition", "debug", "--gres", "gpu:1 --uid=0"), "--gres takes Slurm's syntax"),
        (("--partition", "debug; reboot"), "needs --partition"),
    ],
)
def test_install_refuses_bad_values(slurm_cluster, tmp_path, env, extra, words):
    done = install(slurm_cluster, tmp_path, env, *extra)
    assert done.returncode == 2 and words in done.stderr, done.stderr
    assert not (tmp_path / "share").exists()
