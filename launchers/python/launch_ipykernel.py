#!/usr/bin/env python3
"""Kernel launcher of jupyter_remote_kernels: ipykernel, or any kernel named by its command.

It runs beside the kernel on the target host (this machine, an SSH host, a Slurm job or a
YARN container) and uses only the standard library; Python is needed there, the kernel
may be anything.

1. It reads the launch bundle (the per-kernel authentication key, the kernel's message
   signing key and, for containers, the request's ``KERNEL_*`` values) from standard input,
   or from the environment variable named by ``--bundle-env`` (YARN containers). The bundle
   is base64url-encoded JSON, so it survives a YARN NodeManager's launch script (``export
   NAME="VALUE"``, unescaped) unchanged. Secrets never appear on the command line.
2. It picks five kernel ports (inside ``--port-range`` when one is given), binds a sixth
   *communication port* it keeps, writes a private connection file and starts the kernel
   as a child process in its own process group: ipykernel, or the command the bundle's
   ``kernel_argv`` names (R's IRkernel, bash_kernel, any Jupyter kernel).
3. Once the kernel listens on its ports, it calls back to ``--response-address`` with the
   ports, its pid and host, authenticated with HMAC-SHA256 over a challenge the server
   sent (so a recorded callback cannot be replayed). If the kernel dies first, the callback
   carries the error instead.
4. It serves the communication port: interrupt, signal N, terminate, kill, shutdown and
   ping, each authenticated the same way, become signals to the kernel's process group; a
   warm pool's kernel (bundle ``"pool": true``) also takes ``prepare`` (its user's working
   directory and environment, applied inside the kernel by a start-up hook).
5. When the kernel exits it kills what is left of the kernel's process group, removes the
   connection file and exits with the kernel's exit code.

Enterprise Gateway's option spellings (``--RemoteProcessProxy.kernel-id`` ...) are accepted.

This file is the entry point (its name is the one Enterprise Gateway's kernelspecs use); the
kernel process, the communication port and the protocol are in ``jrk_launcher_comm.py``, the
kernel's command in ``jrk_launcher_kernel.py``, a pool kernel's hook in ``jrk_launcher_prepare.py``,
the Spark lines in ``jrk_launcher_spark.py``; every delivery carries them (``launcher_files``).
"""

import argparse
import base64
import binascii
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the launcher's files (shared folders)
# Python puts the folder of this file's *resolved* path first on sys.path; the folder it was
# started from counts too: in a YARN container each file is a symlink into a cache folder of
# its own, and only the container's working directory holds them all.
if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))
try:
    from jrk_launcher_comm import (
        CALLBACK_PROTOCOL,
        IO_TIMEOUT,
        LAUNCHER_VERSION,
        LOG_LEVELS,
        CommServer,
        Kernel,
        bind_socket,
        canonical,
        crypto,
        log,
        mac,
        read_line,
        release,
        select_ports,
        set_log_level,
        wait_listening,
    )
    from jrk_launcher_kernel import BundleError, hold_spark, kernel_command
    from jrk_launcher_prepare import PrepareHook
    from jrk_launcher_spark import spark_code
except ImportError as exc:
    sys.stderr.write(
        "launch_ipykernel.py: cannot import its sibling module %s.py (%s). "
        "The launcher is several files (launchers/python/ of jupyter_remote_kernels) that "
        "travel together: reinstall the kernelspec, or copy all of them side by side.\n"
        % (exc.name or "jrk_launcher_comm", exc)
    )
    sys.exit(2)


def parse_args(argv):
    parser = argparse.ArgumentParser(description="jupyter_remote_kernels kernel launcher")

    def add(name, **kw):
        # Accept ours, the unprefixed EG/GP spelling and EG's RemoteProcessProxy spelling.
        parser.add_argument(
            "--" + name, "--RemoteProcessProxy." + name, dest=name.replace("-", "_"), **kw
        )

    add("kernel-id", required=True)
    add("response-address", required=True)
    add("public-key", default=None, help="accepted for Enterprise Gateway argv; not used")
    add("port-range", default="0..0")
    add("spark-context-initialization-mode", default="none")
    add("cluster-type", default="none")
    add("kernel-class-name", default="ipykernel.ipkernel.IPythonKernel")
    add("ip", default=None, help="address the kernel binds (default: from the bundle)")
    add("bundle-env", default=None, help="read the launch bundle from this env variable")
    add("log-level", default="INFO", choices=sorted(LOG_LEVELS))
    add("callback-timeout", type=float, default=60.0)
    add("kernel-ready-timeout", type=float, default=60.0)
    return parser.parse_known_args(argv)


def read_bundle(options):
    """The launch bundle: from an env variable (removed at once) or one line of stdin."""
    if options.bundle_env:
        raw = os.environ.pop(options.bundle_env, "")
    else:
        raw = sys.stdin.readline()
    try:
        bundle = json.loads(base64.urlsafe_b64decode(raw.strip().encode("ascii")))
        for field in ("auth_key", "key", "signature_scheme"):
            if not isinstance(bundle.get(field), str):
                raise ValueError(field)
        bytes.fromhex(bundle["auth_key"])
        env = bundle.get("env") or {}
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise ValueError("env")
    except (ValueError, TypeError, AttributeError, UnicodeError, binascii.Error):
        source = ("$" + options.bundle_env) if options.bundle_env else "standard input"
        log(
            "ERROR",
            "no valid launch bundle on %s; this launcher is started by the "
            "Jupyter server, not by hand" % source,
        )
        sys.exit(2)
    return bundle


def container_ip():
    """In a YARN container or a Slurm job (no address in the bundle): the node's address.

    YARN names the node in $NM_HOST, Slurm in $SLURMD_NODENAME.
    """
    host = os.environ.get("NM_HOST") or os.environ.get("SLURMD_NODENAME")
    if not host:
        return None
    try:
        return socket.gethostbyname(host)
    except OSError:
        return None


def parse_port_range(text):
    try:
        lower, upper = (int(part) for part in text.split("..", 1))
    except ValueError:
        log("ERROR", "bad --port-range %r: use LOWER..UPPER, e.g. 40000..40100, or 0..0" % text)
        sys.exit(2)
    if (lower, upper) == (0, 0):
        return None
    if not (0 < lower <= upper < 65536) or upper - lower < 5:
        log("ERROR", "bad --port-range %r: needs at least 6 ports between 1 and 65535" % text)
        sys.exit(2)
    return lower, upper


def spark_exec_lines(mode):
    """IPython start-up lines (code) that give the kernel ``spark``, ``sc``, ``sqlContext``.

    In YARN cluster mode the application master registers with YARN only once a
    SparkContext exists, so a Spark kernel must create one: ``eager`` before the kernel
    answers, ``lazy`` in a background thread at start (the kernel answers at once; the
    names exist from the start and a first use waits for the session, or raises Spark's
    own error if it could not be created), ``none`` not at all.
    """
    if mode in ("none", "", None):
        return []
    code = spark_code(mode)
    if code is None:
        log("ERROR", "bad --spark-context-initialization-mode %r: use none, lazy or eager" % mode)
        sys.exit(2)
    return [code]


def call_back(options, auth_key, info, deadline):
    """Send the authenticated callback; True when the server accepted it."""
    host, _, port = options.response_address.rpartition(":")
    host = host.strip("[]")
    delay = 0.1
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, int(port)), timeout=IO_TIMEOUT) as sock:
                sock.sendall(canonical({"protocol": CALLBACK_PROTOCOL}) + b"\n")
                line = read_line(sock, time.monotonic() + IO_TIMEOUT)
                hello = json.loads(line) if line else {}
                challenge = str(hello.get("challenge", ""))
                if hello.get("protocol") != CALLBACK_PROTOCOL or len(challenge) < 32:
                    log(
                        "ERROR",
                        "%s is not a jupyter_remote_kernels response address"
                        % options.response_address,
                    )
                    return False
                message = {
                    "kernel_id": options.kernel_id,
                    "info": info,
                    "mac": mac(auth_key, CALLBACK_PROTOCOL, challenge, info),
                }
                sock.sendall(canonical(message) + b"\n")
                line = read_line(sock, time.monotonic() + IO_TIMEOUT)
                reply = json.loads(line) if line else {}
                expected = mac(auth_key, "jrk-accepted/1", challenge)
                if reply.get("status") == "accepted" and crypto()[0].compare_digest(
                    expected, str(reply.get("mac", ""))
                ):
                    return True
                log("ERROR", "the server rejected the callback for kernel %s" % options.kernel_id)
                return False
        except (OSError, ValueError) as exc:
            log(
                "WARNING",
                "callback to %s failed (%s); retrying"
                % (options.response_address, exc.__class__.__name__),
            )
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    log("ERROR", "could not reach the response address %s" % options.response_address)
    return False


def write_connection_file(workdir, kernel_id, ports, ip, bundle):
    """The kernel's connection file (mode 0600, in the launcher's own 0700 folder)."""
    connection_file = os.path.join(workdir, "kernel-%s.json" % kernel_id)
    connection = dict(
        ports,
        ip=ip,
        transport="tcp",
        key=bundle["key"],
        signature_scheme=bundle["signature_scheme"],
        kernel_name="",
    )
    if bundle.get("curve_secretkey"):
        # Transport encryption: the kernel speaks CurveZMQ with the server-made keypair.
        connection["curve_publickey"] = bundle["curve_publickey"]
        connection["curve_secretkey"] = bundle["curve_secretkey"]
    fd = os.open(connection_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(connection, f)
    return connection_file


def start_kernel(options, extra, bundle, connection_file, exec_lines, hook):  # noqa: PLR0917
    """Start the kernel (ipykernel, or the bundle's ``kernel_argv``) with the request's env.

    A pool launch's ``hook`` adds its exec_lines entry, its environment variable and the
    kernel's ends of its pipes. Raises BundleError (or OSError, said so) when the kernel's
    command cannot run here.
    """
    if bundle.get("kernel_argv") and exec_lines:
        hold_spark(exec_lines)  # the launcher is the Spark driver; the kernel is not Python
        exec_lines = []
    argv = kernel_command(options, extra, bundle, connection_file, exec_lines, hook)
    env = dict(os.environ)
    env.update(bundle.get("env") or {})  # KERNEL_* values of the request, as sent
    env["KERNEL_ID"] = options.kernel_id
    if hook is not None:
        env.update(hook.env)
    try:
        return Kernel(argv, env, pass_fds=hook.kernel_fds if hook is not None else ())
    except OSError as exc:
        raise OSError("cannot run the kernel's command %r on %s: %s; install the kernel there "
                      "or fix kernel_argv in the kernelspec"
                      % (argv[0], socket.gethostname(), exc.strerror or exc)) from exc


def refuse(options, auth_key, deadline, error, held):
    """Report a kernel that cannot start through the callback, after freeing what the
    launch ``held`` (port holders, comm socket, pool hook, work folder); exit status 2."""
    holders, comm_sock, hook, workdir = held
    release(holders)
    comm_sock.close()
    if hook is not None:
        hook.close()
    shutil.rmtree(workdir, ignore_errors=True)
    log("ERROR", error)
    info = {"kernel_id": options.kernel_id, "launcher_version": LAUNCHER_VERSION, "error": error}
    call_back(options, auth_key, info, deadline)
    return 2


def not_ready_reason(kernel, timeout, listening=False):
    """Why the kernel is not ready: still starting after ``timeout``, or exited."""
    code = kernel.process.poll()
    if code is None and listening:  # a pool kernel (the only kind that waits for more)
        return (
            "the kernel did not start its warm-pool hook (an IPython exec_lines entry of the "
            "launcher) within %.0f s; is its kernel class an IPython kernel?" % timeout
        )
    if code is None:
        return "the kernel did not open its ports within %.0f s" % timeout
    tail = "\n".join(list(kernel.stderr_tail)[-10:])
    return "the kernel exited with code %s before it was ready:\n%s" % (code, tail)


def on_terminate(signum, frame):
    log("INFO", "launcher got signal %d; stopping the kernel" % signum)
    raise SystemExit(128 + signum)  # main's finally stops the kernel and cleans up


def install_signal_handlers():
    signal.signal(signal.SIGTERM, on_terminate)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # outlive the SSH session or terminal
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_until_exit(kernel, connection_file):
    """Wait for the kernel to exit; its exit code, like a shell's (128 + signal number)."""
    ready_at = time.monotonic()
    while kernel.alive():
        # Once the kernel is done with its connection file, remove it, so no file holds
        # the kernel's key even if this launcher is killed outright. (Removing it while
        # ipykernel still re-reads it at start-up would crash the kernel; 30 s is the
        # fallback if ipykernel prints no "--existing" line.)
        done = kernel.done_with_connection_file.is_set() or time.monotonic() > ready_at + 30
        if done and os.path.exists(connection_file):
            os.unlink(connection_file)
        try:
            kernel.process.wait(1.0)
        except subprocess.TimeoutExpired:
            pass
    code = kernel.process.returncode
    return 128 - code if code < 0 else code


def main(argv=None):
    options, extra = parse_args(sys.argv[1:] if argv is None else argv)
    set_log_level(options.log_level)
    bundle = read_bundle(options)
    auth_key = bundle["auth_key"]
    ip = options.ip or bundle.get("ip") or container_ip() or "127.0.0.1"
    port_range = parse_port_range(options.port_range)
    deadline = time.monotonic() + options.callback_timeout
    exec_lines = spark_exec_lines(options.spark_context_initialization_mode)

    taken = set()
    comm_sock = bind_socket(ip, port_range, taken)
    taken.add(comm_sock.getsockname()[1])
    ports, holders = select_ports(ip, port_range, taken)

    workdir = tempfile.mkdtemp(prefix="jrk-kernel-")  # mode 0700
    connection_file = write_connection_file(workdir, options.kernel_id, ports, ip, bundle)
    hook = PrepareHook() if bundle.get("pool") is True else None
    try:
        kernel = start_kernel(options, extra, bundle, connection_file, exec_lines, hook)
    except (BundleError, OSError) as exc:
        return refuse(options, auth_key, deadline, str(exc), (holders, comm_sock, hook, workdir))
    comm = None

    install_signal_handlers()

    try:
        ready_by = time.monotonic() + options.kernel_ready_timeout
        listening = wait_listening(ip, ports, kernel, ready_by)
        release(holders)  # the kernel listens on them now (or is gone)
        # A pool kernel is ready once its prepare hook runs too.
        ready = listening and (hook is None or hook.wait_ready(ready_by))
        info = {"kernel_id": options.kernel_id, "launcher_version": LAUNCHER_VERSION}
        if ready:
            comm = CommServer(comm_sock, kernel, options.kernel_id, auth_key, hook)
            comm.start()
            info.update(
                ports,
                ip=ip,
                host=socket.gethostname(),
                pid=kernel.process.pid,
                pgid=kernel.pgid,
                comm_port=comm_sock.getsockname()[1],
            )
        else:
            info["error"] = not_ready_reason(kernel, options.kernel_ready_timeout, listening)
        accepted = call_back(options, auth_key, info, deadline)
        if not ready or not accepted:
            return 1
        log("INFO", "kernel %s started, pid %d" % (options.kernel_id, kernel.process.pid))
        return run_until_exit(kernel, connection_file)
    finally:
        release(holders)
        kernel.stop(grace=2.0)
        if comm is not None:
            comm.stop()
        if hook is not None:
            hook.close()
        comm_sock.close()
        shutil.rmtree(workdir, ignore_errors=True)
        log("INFO", "kernel %s ended" % options.kernel_id)


if __name__ == "__main__":
    sys.exit(main())
