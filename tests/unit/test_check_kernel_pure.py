"""``check NAME``'s kernel row for Kubernetes (the probe pod's answer) and YARN (the probe
AM's command), without a cluster."""

from __future__ import annotations

from jupyter_remote_kernels.k8s.check import _kernel_rows
from jupyter_remote_kernels.yarn.check_kernel import _probe_command

IR = ["R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"]


def test_k8s_kernel_rows_split_the_probes_answer():
    said = "Python 3.11.2 kernel /usr/bin/R in img:1 on node-1; reached 10.0.0.1:4000"
    assert _kernel_rows(said, IR, "img:1") == [
        ("image", True, "Python 3.11.2 in img:1 on node-1; reached 10.0.0.1:4000"),
        ("kernel", True, "R /usr/bin/R"),
    ]
    said = "Python 3.11.2 kernel - in img:1 on node-1; reached 10.0.0.1:4000"
    [image, kernel] = _kernel_rows(said, IR, "img:1")
    assert image[1] and not kernel[1], kernel
    assert kernel[2].startswith("R is not found in image img:1"), kernel
    bash = ["python", "-m", "bash_kernel", "-f", "{connection_file}"]
    said = "Python 3.11.2 kernel /usr/bin/python3 in img:1 on n; reached a:1"
    assert _kernel_rows(said, bash, "img:1")[1] == (
        "kernel", True, "python3 -m bash_kernel /usr/bin/python3")


def test_yarn_probe_commands_are_plain_words_or_refused():
    assert _probe_command(IR) == ("command -v R 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr", "R")
    command, what = _probe_command(["python3", "-m", "bash_kernel", "-f", "{connection_file}"])
    assert command.startswith("python3 -c 'import bash_kernel'"), command
    assert what == "python3 -m bash_kernel"
    for argv in (['my "kernel"', "x"], ["a$(id)", "x"], ["python", "-m", "x;y", "z"]):
        command, why = _probe_command(argv)
        assert command == "" and why, argv
