"""The settings every launcher-based provisioner has (each overridable per kernelspec)."""

from __future__ import annotations

import re

from traitlets import Bool, Float, List, Unicode, validate
from traitlets.config import Configurable

from ..errors import LaunchError

__all__ = ["LauncherSettings", "positive_seconds"]

_PORT_RANGE = re.compile(r"^(\d+)\.\.(\d+)$")


def positive_seconds(proposal: dict) -> float:
    """Trait validator: a duration must be more than 0 seconds."""
    if proposal["value"] <= 0:
        msg = f"{proposal['trait'].name} must be more than 0 seconds"
        raise ValueError(msg)
    return proposal["value"]


class LauncherSettings(Configurable):
    """Launch timeout, ports, kernel class and communication-port settings."""

    launch_timeout = Float(
        60.0,
        config=True,
        help="Seconds a launch may take, from start to the launcher's callback. A start "
        "request may lower or raise it with the KERNEL_LAUNCH_TIMEOUT env value.",
    )
    port_range = Unicode(
        "0..0",
        config=True,
        help="LOWER..UPPER range the kernel's five ports and the communication port are "
        "chosen from on the kernel's host; 0..0 lets the host pick any free port.",
    )
    kernel_class_name = Unicode(
        "ipykernel.ipkernel.IPythonKernel",
        config=True,
        help="Kernel class the Python launcher runs; fills {kernel_class_name} in argv.",
    )
    kernel_argv = List(
        Unicode(),
        [],
        config=True,
        help="The kernel's own command, as a kernelspec's argv (e.g. IRkernel's ['R', "
        "'--slave', '-e', 'IRkernel::main()', '--args', '{connection_file}']): the launcher "
        "starts it instead of ipykernel, with {connection_file} filled in. It travels in the "
        "launch bundle, never in the launcher's argv. Empty: ipykernel (kernel_class_name).",
    )
    comm_timeout = Float(
        5.0,
        config=True,
        help="Seconds one message to a launcher's communication port may take.",
    )
    bind_all_interfaces = Bool(
        False,
        config=True,
        help="Let kernels bind all interfaces (0.0.0.0) instead of the one address the "
        "server uses to reach them.",
    )
    legacy_shutdown_grace = Float(
        0.2,
        config=True,
        help="Seconds a kernel on Enterprise Gateway's or gateway_provisioners' launcher "
        "(allow_legacy_launchers) gets to handle its shutdown request before it is sent "
        "SIGTERM, as EG does: such a kernel does not exit by itself within the shutdown "
        "wait time (ipykernel waits ~29 s for the launcher's exited listener process).",
    )

    @validate("port_range")
    def _validate_port_range(self, proposal: dict) -> str:
        value = str(proposal["value"]).strip()
        match = _PORT_RANGE.match(value)
        lower, upper = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
        if value != "0..0" and not (lower > 0 and upper < 65536 and upper - lower >= 5):
            msg = f"port_range must be LOWER..UPPER with at least 6 ports, or 0..0; got {value!r}"
            raise ValueError(msg)
        return value

    @validate("kernel_argv")
    def _validate_kernel_argv(self, proposal: dict) -> list:
        argv = list(proposal["value"])
        if argv and (not argv[0].strip() or not any("{connection_file}" in a for a in argv)):
            msg = (
                "kernel_argv must be a command whose arguments name {connection_file} (the "
                f"kernel reads its ports and key there), e.g. a kernelspec's argv; got {argv!r}"
            )
            raise ValueError(msg)
        return argv

    @validate("launch_timeout", "comm_timeout", "legacy_shutdown_grace")
    def _validate_positive(self, proposal: dict) -> float:
        return positive_seconds(proposal)

    def launch_timeout_for(self, env: dict[str, str]) -> float:
        """The launch timeout of one start: ``KERNEL_LAUNCH_TIMEOUT`` if the request set it."""
        value = env.get("KERNEL_LAUNCH_TIMEOUT")
        if value is None:
            return self.launch_timeout
        try:
            timeout = float(value)
        except ValueError:
            timeout = -1.0
        if timeout <= 0:
            msg = f"KERNEL_LAUNCH_TIMEOUT must be a positive number of seconds, not {value!r}"
            raise LaunchError(msg)
        return timeout
