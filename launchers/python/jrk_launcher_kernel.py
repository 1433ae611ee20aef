"""The command of the kernel the Python launcher starts: ipykernel, or any kernel's own.

A sibling module of ``launch_ipykernel.py`` (standard library only; every delivery carries it,
see ``jupyter_remote_kernels.paths.launcher_files``).

- Without ``kernel_argv`` in the launch bundle the kernel is ipykernel in the launcher's own
  Python (``--kernel-class-name``, the Spark start-up lines and a warm pool's hook as IPython
  ``exec_lines``).
- With it, the kernel is that command: a kernelspec's ``argv`` (IRkernel's ``R --slave -e
  IRkernel::main() --args {connection_file}``, bash_kernel's ``python -m bash_kernel -f
  {connection_file}``...), ``{connection_file}`` filled in with the file this launcher wrote,
  ``python``/``python3`` as the first word meaning the launcher's own Python (as
  jupyter_client does for a local kernelspec). The launcher treats that kernel as it does
  ipykernel: own process group, the request's ``KERNEL_*`` values in its environment, the
  communication port's signals to its group, stopped and cleaned up when it exits. The
  warm pool's hook (IPython code) cannot apply and is refused with a clear error; the Spark
  start-up lines run in the launcher itself (:func:`hold_spark`).

Interrupts: a kernelspec's ``interrupt_mode`` decides, as for any kernel. ``signal`` (the
default; IRkernel, bash_kernel, ipykernel) makes jupyter_client call the provisioner's
``send_signal(SIGINT)``, which reaches this launcher's communication port and becomes SIGINT
to the kernel's process group. ``message`` makes jupyter_client send the kernel an
``interrupt_request`` on its control channel itself (the server connects to the kernel's
control port directly, as to any kernel), so such a kernel is interrupted without a signal
and without this launcher.

The command travels in the bundle (through the launch channel: stdin, a container's
environment, a Secret), not in the launcher's argv: argv is public on the host and the
kernel's command may hold what its owner did not mean to publish.
"""

import json
import os
import sys

__all__ = ["BundleError", "check_kernel_argv", "hold_spark", "kernel_command"]

_PYTHON_NAMES = {
    "python",
    "python%d" % sys.version_info[0],
    "python%d.%d" % sys.version_info[:2],
}


class BundleError(ValueError):
    """The bundle's kernel command cannot be run; the message says why and what to do."""


def check_kernel_argv(value):
    """The bundle's ``kernel_argv`` as a list of strings, or None; BundleError if bad."""
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(a, str) for a in value):
        raise BundleError("kernel_argv must be a non-empty list of strings")
    if not any("{connection_file}" in arg for arg in value):
        raise BundleError("kernel_argv names no {connection_file}: the kernel would not find "
                          "its ports and key")
    return value


def kernel_command(options, extra, bundle, connection_file, exec_lines, hook):  # noqa: PLR0917
    """The kernel's argv for this launch.

    ``extra`` (the launcher's own unrecognised arguments) go after it; ``exec_lines`` and a
    pool ``hook`` exist only for ipykernel: with another kernel they raise BundleError.
    """
    argv = check_kernel_argv(bundle.get("kernel_argv"))
    if argv is None:
        if hook is not None:
            exec_lines = [hook.exec_line(), *exec_lines]
        return [
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            connection_file,
            "--IPKernelApp.kernel_class=" + options.kernel_class_name,
            *(["--IPKernelApp.exec_lines=" + json.dumps(exec_lines)] if exec_lines else []),
            *extra,
        ]
    if hook is not None:
        raise BundleError(
            "a warm pool cannot hold this kernel (%s): its hand-out works through an IPython "
            "start-up hook; set no pool for this kernelspec" % os.path.basename(argv[0])
        )
    if exec_lines:
        raise BundleError("Spark start-up lines are IPython code; see hold_spark")
    command = [arg.replace("{connection_file}", connection_file) for arg in argv]
    if command[0] in _PYTHON_NAMES:
        command[0] = sys.executable
    return [*command, *extra]


def hold_spark(exec_lines):
    """Run the Spark start-up code in the launcher itself, for a kernel of its own command.

    In YARN cluster mode the launcher is Spark's driver program: the application master
    registers with YARN (and lives past ``spark.yarn.am.waitTime``) only once the driver
    creates a SparkContext. An R, Scala or shell kernel cannot run the Python start-up
    lines, so the launcher creates the session (``eager`` now, ``lazy`` in a background
    thread) and holds it while the kernel runs; it ends with the launcher, and the
    application with it. The kernel itself gets no session from it (SparkR would need the
    cluster's Spark to ship R support; pip's pyspark does not).
    """
    namespace = {"__name__": "jrk_launcher_spark_session"}
    for code in exec_lines:
        exec(compile(code, "<spark start-up>", "exec"), namespace)  # noqa: S102
    return namespace
