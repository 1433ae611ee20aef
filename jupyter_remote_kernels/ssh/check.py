"""``jupyter remote-kernels check NAME``: can each host of an ssh kernelspec run kernels?

Per host it checks, in order, and stops at the first failure (with the fix):
SSH (reach, host key, login), the remote Python, ipykernel (or the kernel's own command of
``kernel_argv``), and the callback path (the host
connects back to this machine's address on the route to it, as a launcher would).
"""

from __future__ import annotations

import shlex
import socket
import threading
from typing import Any, Optional

from ..backends import kernel_probe, print_checks
from ..netutil import route_ip
from .pool import SSHHostError, SSHPool, SSHTarget
from .provisioner import SSHProvisioner

__all__ = ["check_host", "run_check"]


def check_host(
    pool: SSHPool,
    target: SSHTarget,
    python: str,
    module: str,
    callback_ip: str = "",
    *,
    kernel_argv: Optional[list[str]] = None,
) -> list:
    """[(check, ok, detail or fix)] for one host; later checks are skipped after a failure."""

    def _run(target: SSHTarget, command: str, timeout: float = 20.0) -> tuple[Any, str, str]:
        return pool.run(target, command, timeout)

    results: list[tuple[str, bool, str]] = []
    try:
        status, out, err = _run(target, "echo jrk-ok")
        ok = status == 0 and "jrk-ok" in out
        results.append(("ssh", ok, f"logged in as {target.user}" if ok else err.strip()))
    except SSHHostError as exc:
        return [("ssh", False, str(exc))]
    if not ok:
        return results
    py = shlex.quote(python)
    status, out, err = _run(target, f"exec {py} -c 'import sys; print(sys.version.split()[0])'")
    if status != 0:
        fix = (
            f"{python!r} does not run on {target.host} ({err.strip() or status}); install "
            "Python 3 there or set `python` in process_proxy.config to its full path"
        )
        return [*results, ("python", False, fix)]
    results.append(("python", True, f"{python} {out.strip()}"))
    if kernel_argv:  # a kernel of its own command: it must exist on the host
        probe, what = kernel_probe(kernel_argv, python)
        status, out, err = _run(target, probe)
        if status != 0:
            fix = f"{what} is not found on {target.host}: install the kernel there or fix " \
                "kernel_argv in the kernelspec"
            return [*results, ("kernel", False, fix)]
        results.append(("kernel", True, f"{what} {out.strip()}".strip()))
    else:
        status, out, err = _run(
            target, f"exec {py} -c 'import {module}; print({module}.__version__)'"
        )
        if status != 0:
            fix = f"{module} is missing on {target.host}: run `{python} -m pip install {module}`"
            return [*results, ("ipykernel", False, fix)]
        results.append(("ipykernel", True, f"{module} {out.strip()}"))
    ip = callback_ip or route_ip(target.host)
    listener = socket.create_server((ip, 0))
    listener.settimeout(15)
    port = listener.getsockname()[1]
    reached = threading.Event()

    def accept() -> None:
        try:
            conn, _ = listener.accept()
            conn.close()
            reached.set()
        except OSError:
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    code = f"import socket; socket.create_connection(({ip!r}, {port}), 5).close()"
    _run(target, f"exec {py} -c {shlex.quote(code)}")
    thread.join(6)
    listener.close()
    if reached.is_set():
        results.append(("callback", True, f"{target.host} reaches {ip}"))
    else:
        fix = (
            f"{target.host} cannot connect to {ip}: open TCP from the host to this machine "
            "(ResponseListener.response_port fixes the port) or set callback_ip"
        )
        results.append(("callback", False, fix))
    return results


def run_check(name: str, config: dict[str, Any], argv: list[str]) -> int:
    """Print the checks of every host of ssh kernelspec ``name``; the exit status."""
    prov = SSHProvisioner(**config)
    python = prov.python or argv[0]
    module = prov.kernel_class_name.split(".", 1)[0]
    failed = False
    pool = SSHPool()
    try:
        for host in prov.remote_hosts:
            target = prov.target_for(host)
            print(f"{target.label}:")
            results = check_host(
                pool, target, python, module, prov.callback_ip, kernel_argv=prov.kernel_argv
            )
            failed = print_checks(results) or failed
    finally:
        pool.close()
    return 1 if failed else 0
