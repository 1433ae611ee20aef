"""Unit tests of the Slurm backend's pure parts: time and memory syntax, the admin's limits on
what a request may change, squeue output, the batch script (run by a real ``sh``)."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest

from jupyter_remote_kernels.errors import InvalidRequest, NotAuthorized
from jupyter_remote_kernels.slurm import SlurmProvisioner
from jupyter_remote_kernels.slurm.jobs import parse_controller
from jupyter_remote_kernels.slurm.poller import parse_squeue
from jupyter_remote_kernels.slurm.resources import job_options, parse_memory, parse_time
from jupyter_remote_kernels.slurm.script import IN_JOB_SCRIPT, job_script


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 1800),
        ("30:15", 1815),
        ("2:00:00", 7200),
        ("1-12", 36 * 3600),
        ("1-0:30", 24 * 3600 + 1800),
        ("1-00:00:05", 86405),
        ("UNLIMITED", math.inf),
    ],
)
def test_parse_time(text, seconds):
    assert parse_time(text) == seconds


@pytest.mark.parametrize("bad", ["", "1h", "2:00:00:00", "$(reboot)", "-1", "1-"])
def test_parse_time_refuses(bad):
    with pytest.raises(ValueError, match="not a Slurm time limit"):
        parse_time(bad)


def test_parse_memory():
    assert parse_memory("512") == 512
    assert parse_memory("4G") == 4096
    assert parse_memory("2048M") == 2048
    with pytest.raises(ValueError, match="memory size"):
        parse_memory("4 GB; rm -rf /")


def settings(**config):
    return SlurmProvisioner(**config)


def test_job_options_from_the_kernelspec():
    prov = settings(slurm_partition="debug", slurm_time="1:00:00", slurm_gres="gpu:1",
                    slurm_account="lab", slurm_extra_options=["--reservation=course"])
    assert job_options(prov, {}) == [
        "--partition=debug", "--account=lab", "--time=1:00:00", "--gres=gpu:1",
        "--cpus-per-task=1", "--reservation=course",
    ]


def test_request_within_the_admins_lists_is_taken():
    prov = settings(slurm_partition="debug", slurm_time="30", allowed_partitions=["short"],
                    max_time="2:00:00", max_gpus=2, max_cpus=4, max_memory="8G")
    env = {"KERNEL_SLURM_PARTITION": "short", "KERNEL_SLURM_TIME": "1:30:00",
           "KERNEL_SLURM_GPUS": "2", "KERNEL_SLURM_CPUS": "4", "KERNEL_SLURM_MEMORY": "4G"}
    assert job_options(prov, env) == [
        "--partition=short", "--time=1:30:00", "--mem=4G", "--gres=gpu:2", "--cpus-per-task=4",
    ]


@pytest.mark.parametrize(
    ("env", "limit"),
    [
        ({"KERNEL_SLURM_PARTITION": "gpu"}, "allowed_partitions"),
        ({"KERNEL_SLURM_TIME": "3:00:00"}, "max_time"),
        ({"KERNEL_SLURM_GPUS": "3"}, "max_gpus"),
        ({"KERNEL_SLURM_CPUS": "8"}, "max_cpus"),
        ({"KERNEL_SLURM_MEMORY": "16G"}, "max_memory"),
    ],
)
def test_request_beyond_a_limit_is_refused_naming_it(env, limit):
    prov = settings(slurm_partition="debug", allowed_partitions=["short"], max_time="2:00:00",
                    max_gpus=2, max_cpus=4, max_memory="8G")
    with pytest.raises(NotAuthorized, match=limit) as info:
        job_options(prov, env)
    assert info.value.http_status == 403


def test_no_list_means_no_change():
    prov = settings(slurm_partition="debug")
    with pytest.raises(NotAuthorized, match="only the kernelspec's partition"):
        job_options(prov, {"KERNEL_SLURM_PARTITION": "short"})
    with pytest.raises(NotAuthorized, match="max_time"):
        job_options(prov, {"KERNEL_SLURM_TIME": "10"})
    # Asking for what the kernelspec already says is no change.
    assert "--partition=debug" in job_options(prov, {"KERNEL_SLURM_PARTITION": "debug"})


@pytest.mark.parametrize(
    "env",
    [
        {"KERNEL_SLURM_PARTITION": "short --uid=0"},
        {"KERNEL_SLURM_PARTITION": "short;reboot"},
        {"KERNEL_SLURM_TIME": "$(reboot)"},
        {"KERNEL_SLURM_GPUS": "1 --exclusive"},
        {"KERNEL_SLURM_CPUS": "-1"},
    ],
)
def test_malformed_request_values_are_refused(env):
    prov = settings(slurm_partition="debug", allowed_partitions=["short"], max_time="2:00:00",
                    max_gpus=2, max_cpus=4)
    with pytest.raises(InvalidRequest) as info:
        job_options(prov, env)
    assert info.value.http_status == 400


def test_bad_kernelspec_values_are_refused():
    with pytest.raises(ValueError, match="not a Slurm time limit"):
        settings(slurm_time="two hours")
    with pytest.raises(ValueError, match="slurm_cpus"):
        settings(slurm_cpus=0)


def test_parse_squeue():
    out = (
        "4242|k1|RUNNING|debug|jrk-host1|1:52:00|None\n"
        "4243|k2|PENDING|debug||1:00:00|Resources\n"
        "garbage\n"
        "4244|k3|PENDING|debug||UNLIMITED|QOSMaxJobsPerUser|extra\n"
    )
    jobs = parse_squeue(out)
    assert [(j.id, j.state, j.nodes, j.reason) for j in jobs] == [
        ("4242", "RUNNING", "jrk-host1", "None"),
        ("4243", "PENDING", "", "Resources"),
        ("4244", "PENDING", "", "QOSMaxJobsPerUser|extra"),
    ]
    assert not jobs[0].ended
    assert parse_squeue("5|k|TIMEOUT|debug|n1|0:00|TimeLimit")[0].ended


def test_parse_controller():
    assert parse_controller("SlurmctldHost[0]       = head(10.0.0.1)\n") == "10.0.0.1"
    assert parse_controller("SlurmctldHost[0] = head\n") == "head"
    assert parse_controller("nothing") == ""


def test_job_script_carries_launcher_env_and_literal_args(tmp_path):
    """The script, run by a real sh, writes the launcher files privately, exports the
    variables and passes every argument literally; its folder is gone afterwards."""
    main = tmp_path / "main.py"
    main.write_text(
        "import json, os, stat, sys\n"
        "here = os.path.dirname(os.path.abspath(__file__))\n"
        "print(json.dumps({'argv': sys.argv[1:], 'var': os.environ['WEIRD'],\n"
        "  'files': sorted(os.listdir(here)), 'here': here,\n"
        "  'mode': oct(stat.S_IMODE(os.stat(here).st_mode))}))\n"
    )
    (tmp_path / "helper.py").write_text("VALUE = 1\n")
    hostile = "$(touch /tmp/jrk-pwned) `id` 'quote\" ; exit 3"
    script = job_script(
        ["python3", IN_JOB_SCRIPT, "--kernel-id", hostile],
        [main, tmp_path / "helper.py"],
        {"WEIRD": hostile},
        "k1",
    )
    run_dir = tmp_path / "tmp"
    run_dir.mkdir()
    result = subprocess.run(["sh", "-s"], input=script, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "TMPDIR": str(run_dir)}, timeout=30,
                            check=False)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["argv"] == ["--kernel-id", hostile]
    assert seen["var"] == hostile
    assert seen["files"] == ["helper.py", "main.py"]
    assert seen["mode"] == "0o700"
    assert not Path(seen["here"]).exists()
    assert not Path("/tmp/jrk-pwned").exists()


def test_job_script_refuses_bad_variable_names(tmp_path):
    main = tmp_path / "main.py"
    main.write_text("")
    with pytest.raises(ValueError, match="variable name"):
        job_script(["python3", IN_JOB_SCRIPT], [main], {"A;B": "1"}, "k1")
