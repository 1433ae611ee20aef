"""``check NAME`` of a YARN kernelspec with ``kernel_argv`` (issue 23): the kernel's command is
looked for in a probe application's container, as the kernel would run in its AM's.

Against the RM emulator here (its NodeManager runs containers as processes of this machine,
where R is installed); ``tests/yarn/test_yarn_any_kernel.py`` checks it on the real cluster.
"""

from __future__ import annotations

import json

from testing.yarn_emulator.spark_submit import install_fake_spark

from ..any_kernel import IR_ARGV, require_kernels
from .test_yarn_provisioner_cli import REPO, cli


def test_check_finds_the_kernel_command_on_a_nodemanager_or_says_it_is_missing(
    tmp_path, yarn_rm_factory
):
    require_kernels()
    rm = yarn_rm_factory()
    spark = install_fake_spark(tmp_path, rm.url, REPO)
    for name, argv in (
        ("r-yarn", IR_ARGV),
        ("none-yarn", ["no-such-kernel-cmd", "{connection_file}"]),
        ("odd-yarn", ['my "kernel"', "{connection_file}"]),
    ):
        out = cli(tmp_path, "install", "yarn", "--prefix", str(tmp_path), "--name", name,
                  "--endpoint", rm.url, "--spark-home", str(spark), "--language", "R",
                  "--kernel-argv", json.dumps(argv))  # fmt: skip
        assert out.returncode == 0, out.stderr
    out = cli(tmp_path, "check", "r-yarn")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ok   kernel     R on NodeManager " in out.stdout, out.stdout
    out = cli(tmp_path, "check", "none-yarn")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAIL kernel     no-such-kernel-cmd is not found on NodeManager" in out.stdout
    assert "install the kernel on the NodeManager hosts" in out.stdout, out.stdout
    out = cli(tmp_path, "check", "odd-yarn")
    assert out.returncode == 1 and "FAIL kernel     not checked:" in out.stdout, out.stdout
    # No probe application is left running.
    live = [a for a in rm.cluster.apps.values() if a.state not in ("FINISHED", "FAILED", "KILLED")]
    assert live == [], live
