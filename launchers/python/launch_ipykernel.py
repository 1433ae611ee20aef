#!/usr/bin/env python3
"""Kernel launcher of jupyter_remote_kernels, for Python kernels.

It runs beside the kernel on the target host (this machine, an SSH host or a YARN
container) and uses only the standard library plus the kernel's own packages.

1. It reads the launch bundle (the per-kernel authentication key, the kernel's message
   signing key and, for containers, the request's ``KERNEL_*`` values) from standard input,
   or from the environment variable named by ``--bundle-env`` (YARN containers). The bundle
   is base64url-encoded JSON, so it survives a YARN NodeManager's launch script (``export
   NAME="VALUE"``, unescaped) unchanged. Secrets never appear on the command line.
2. It picks five kernel ports (inside ``--port-range`` when one is given), binds a sixth
   *communication port* it keeps, writes a private connection file and starts the kernel
   as a child process in its own process group.
3. Once the kernel listens on its ports, it calls back to ``--response-address`` with the
   ports, its pid and host, authenticated with HMAC-SHA256 over a challenge the server
   sent (so a recorded callback cannot be replayed). If the kernel dies first, the callback
   carries the error instead.
4. It serves the communication port: interrupt, signal N, terminate, kill, shutdown and
   ping, each authenticated the same way, become signals to the kernel's process group.
5. When the kernel exits it kills what is left of the kernel's process group, removes the
   connection file and exits with the kernel's exit code.

Enterprise Gateway's option spellings (``--RemoteProcessProxy.kernel-id`` ...) are accepted.
"""

import argparse
import base64
import binascii
import collections
import ctypes
import hashlib
import hmac
import json
import os
import random
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

LAUNCHER_VERSION = "1"
CALLBACK_PROTOCOL = "jrk-callback/1"
COMM_PROTOCOL = "jrk-comm/1"
MAX_LINE = 65536
IO_TIMEOUT = 10.0
PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
COMM_COMMANDS = ("ping", "interrupt", "signal", "terminate", "kill", "shutdown")


def canonical(obj):
    """The bytes a MAC is computed over: JSON with sorted keys and no spaces."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def mac(auth_key, label, challenge, obj=None):
    """HMAC-SHA256 over a label, the peer's challenge and an optional object."""
    data = label.encode() + b"\n" + challenge.encode()
    if obj is not None:
        data += b"\n" + canonical(obj)
    return hmac.new(bytes.fromhex(auth_key), data, hashlib.sha256).hexdigest()


def log(level, message):
    """Log to stderr; the launcher never logs a key."""
    if LOG_LEVELS[level] >= LOG_LEVELS[OPTIONS_LOG_LEVEL[0]]:
        write_stderr(("[launcher %s] %s\n" % (level, message)).encode())


def write_stderr(data):
    """Write to stderr, ignoring a closed one: the server that read it may be gone, and
    the kernel must outlive it (a restarted server reattaches)."""
    write_stream(sys.stderr, data)


def write_stream(stream, data):
    try:
        stream.buffer.write(data)
        stream.flush()
    except (OSError, ValueError, AttributeError):
        pass


LOG_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}
OPTIONS_LOG_LEVEL = ["INFO"]


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


def bind_socket(ip, port_range, taken, reuse=False):
    """A listening-capable socket bound on ip, on a free port inside port_range.

    With ``reuse`` (SO_REUSEADDR) the socket only *holds* the port: the kernel, whose ZMQ
    listener sets SO_REUSEADDR too, can still bind and listen on it, while every other
    bind(0), connect() or launcher on the host is kept off it until the holder closes.
    """
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET

    def new_socket():
        sock = socket.socket(family, socket.SOCK_STREAM)
        if reuse:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        return sock

    if port_range is None:
        sock = new_socket()
        sock.bind((ip, 0))
        return sock
    candidates = list(range(port_range[0], port_range[1] + 1))
    random.shuffle(candidates)
    for port in candidates:
        if port in taken:
            continue
        sock = new_socket()
        try:
            sock.bind((ip, port))
            return sock
        except OSError:
            sock.close()
    log("ERROR", "no free port left in range %d..%d on %s" % (port_range + (ip,)))
    sys.exit(3)


def select_ports(ip, port_range, taken):
    """Five free kernel ports and the sockets holding them until the kernel listens.

    Releasing them before the kernel binds would let another launcher starting on the same
    host at the same time (or any bind/connect there) take a port in between: the kernel
    would then die with "Address already in use" (seen with 10-20 concurrent starts).
    """
    socks = []
    try:
        for _ in PORT_NAMES:
            sock = bind_socket(ip, port_range, taken, reuse=True)
            taken.add(sock.getsockname()[1])
            socks.append(sock)
    except BaseException:
        release(socks)
        raise
    return dict(zip(PORT_NAMES, (s.getsockname()[1] for s in socks))), socks


def release(socks):
    for sock in socks:
        sock.close()
    del socks[:]


SPARK_INIT = (
    "def _jrk_start_spark():\n"
    "    global spark, sc, sqlContext, sqlCtx\n"
    "    from pyspark.sql import SparkSession\n"
    "    spark = SparkSession.builder.getOrCreate()\n"
    "    sc = spark.sparkContext\n"
    "    sqlContext = sqlCtx = spark\n"
)


def spark_exec_lines(mode):
    """IPython start-up lines that give the kernel ``spark`` and ``sc``.

    In YARN cluster mode the application master registers with YARN only once a
    SparkContext exists, so a Spark kernel must create one: ``eager`` before the kernel
    answers, ``lazy`` in a background thread at start (the kernel answers at once and
    ``spark``/``sc`` appear when ready), ``none`` not at all.
    """
    if mode in ("none", "", None):
        return []
    if mode == "eager":
        code = SPARK_INIT + "_jrk_start_spark()"
    elif mode == "lazy":
        code = (
            SPARK_INIT + "import threading as _jrk_threading\n"
            "_jrk_threading.Thread(target=_jrk_start_spark, name='spark-init', "
            "daemon=True).start()"
        )
    else:
        log("ERROR", "bad --spark-context-initialization-mode %r: use none, lazy or eager" % mode)
        sys.exit(2)
    return ["--IPKernelApp.exec_lines=%s" % json.dumps([code])]


def read_line(sock, deadline):
    """One newline-terminated line of at most MAX_LINE bytes, or None."""
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or len(data) > MAX_LINE:
            return None
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(4096)
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data.split(b"\n", 1)[0]


PR_SET_PDEATHSIG = 1


def die_with_this_process():
    """A pre-exec function: the child is sent SIGKILL when this process ends, however it
    ends (SIGKILL included), so a kernel never outlives its launcher (Linux only; None
    elsewhere). Made before the fork: the child only calls prctl and getppid."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                      ctypes.c_ulong]
    parent = os.getpid()

    def pre_exec():
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the launcher died before prctl took effect
            os._exit(1)

    return pre_exec


class Kernel:
    """The kernel child process and the state the communication port reports.

    Made on the main thread: the kernel's death signal fires when the thread that started
    it ends, and the main thread lives as long as the launcher.
    """

    def __init__(self, argv, env):
        self.process = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=die_with_this_process(),
        )
        self.pgid = self.process.pid
        self.stderr_tail = collections.deque(maxlen=30)
        #: Set once ipykernel has printed its "--existing" line: it has finished with its
        #: connection file (it reads it again while it starts, to see if it must rewrite it).
        self.done_with_connection_file = threading.Event()
        for target, name in (
            (self._pump_stderr, "stderr-pump"),
            (self._pump_stdout, "stdout-pump"),
        ):
            threading.Thread(target=target, name=name, daemon=True).start()

    def _pump_stderr(self):
        for line in iter(self.process.stderr.readline, b""):
            self.stderr_tail.append(line.decode(errors="replace").rstrip())
            write_stderr(line)

    def _pump_stdout(self):
        for line in iter(self.process.stdout.readline, b""):
            if b"--existing" in line:
                self.done_with_connection_file.set()
            write_stream(sys.stdout, line)

    def alive(self):
        return self.process.poll() is None

    def signal_group(self, signum):
        try:
            os.killpg(self.pgid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, grace=5.0):
        """SIGTERM the kernel's group, then SIGKILL what is left after grace seconds."""
        self.signal_group(signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        self.signal_group(signal.SIGKILL)


class CommServer(threading.Thread):
    """Serves the communication port: one authenticated command per connection."""

    def __init__(self, sock, kernel, kernel_id, auth_key):
        super().__init__(name="comm-port", daemon=True)
        self.sock = sock
        self.kernel = kernel
        self.kernel_id = kernel_id
        self.auth_key = auth_key
        self.stopping = threading.Event()
        self._wake_r, self._wake_w = os.pipe()

    def stop(self):
        """Stop serving at once (the select below also watches a wake-up pipe)."""
        self.stopping.set()
        os.write(self._wake_w, b"x")
        self.join(2.0)
        os.close(self._wake_r)
        os.close(self._wake_w)

    def run(self):
        self.sock.listen(16)
        while not self.stopping.is_set():
            ready, _, _ = select.select([self.sock, self._wake_r], [], [], 5.0)
            if self.sock not in ready:
                continue
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            # One thread per connection, so a slow sender cannot hold the port.
            threading.Thread(target=self.serve, args=(conn, peer), daemon=True).start()

    def serve(self, conn, peer):
        try:
            challenge = secrets.token_hex(16)
            conn.settimeout(IO_TIMEOUT)
            conn.sendall(canonical({"protocol": COMM_PROTOCOL, "challenge": challenge}) + b"\n")
            line = read_line(conn, time.monotonic() + IO_TIMEOUT)
            request = self.verify(line, challenge)
            if request is None:
                log("WARNING", "unauthenticated comm-port message from %s ignored" % (peer,))
                conn.sendall(canonical({"ok": False, "error": "unauthenticated"}) + b"\n")
                return
            reply = self.execute(request)
            reply["mac"] = mac(self.auth_key, "jrk-comm-reply/1", challenge, reply)
            conn.sendall(canonical(reply) + b"\n")
            if request["cmd"] == "shutdown":
                threading.Thread(target=self.kernel.stop, daemon=True).start()
        except OSError:
            pass
        finally:
            conn.close()

    def verify(self, line, challenge):
        if line is None:
            return None
        try:
            message = json.loads(line)
            request = {
                "cmd": message["cmd"],
                "signum": message.get("signum"),
                "kernel_id": message["kernel_id"],
            }
            expected = mac(self.auth_key, COMM_PROTOCOL, challenge, request)
            if not hmac.compare_digest(expected, str(message["mac"])):
                return None
        except (ValueError, TypeError, KeyError):
            return None
        if request["kernel_id"] != self.kernel_id or request["cmd"] not in COMM_COMMANDS:
            return None
        return request

    def execute(self, request):
        cmd = request["cmd"]
        if cmd == "signal":
            signum = request["signum"]
            if not isinstance(signum, int) or not 0 <= signum < 65:
                return {"ok": False, "error": "bad signal number", "alive": self.kernel.alive()}
            if signum:
                self.kernel.signal_group(signum)
        elif cmd == "interrupt":
            self.kernel.signal_group(signal.SIGINT)
        elif cmd == "terminate":
            self.kernel.signal_group(signal.SIGTERM)
        elif cmd == "kill":
            self.kernel.signal_group(signal.SIGKILL)
        log("DEBUG", "comm-port command %s done" % cmd)
        return {"ok": True, "alive": self.kernel.alive(), "exit_code": self.kernel.process.poll()}


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
                if reply.get("status") == "accepted" and hmac.compare_digest(
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


def wait_listening(ip, ports, kernel, deadline):
    """True once every kernel port accepts TCP connections, False if the kernel died."""
    pending = list(ports.values())
    connect_ip = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(ip, ip)
    while pending and time.monotonic() < deadline:
        if not kernel.alive():
            return False
        try:
            socket.create_connection((connect_ip, pending[0]), timeout=1.0).close()
            pending.pop(0)
        except OSError:
            time.sleep(0.05)
    return not pending


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


def not_ready_reason(kernel, timeout):
    """Why the kernel is not listening: still starting after ``timeout``, or exited."""
    code = kernel.process.poll()
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
    OPTIONS_LOG_LEVEL[0] = options.log_level
    bundle = read_bundle(options)
    auth_key = bundle["auth_key"]
    ip = options.ip or bundle.get("ip") or container_ip() or "127.0.0.1"
    port_range = parse_port_range(options.port_range)
    deadline = time.monotonic() + options.callback_timeout
    spark_lines = spark_exec_lines(options.spark_context_initialization_mode)

    taken = set()
    comm_sock = bind_socket(ip, port_range, taken)
    taken.add(comm_sock.getsockname()[1])
    ports, holders = select_ports(ip, port_range, taken)

    workdir = tempfile.mkdtemp(prefix="jrk-kernel-")  # mode 0700
    connection_file = write_connection_file(workdir, options.kernel_id, ports, ip, bundle)
    kernel_argv = [
        sys.executable,
        "-m",
        "ipykernel_launcher",
        "-f",
        connection_file,
        "--IPKernelApp.kernel_class=" + options.kernel_class_name,
        *spark_lines,
        *extra,
    ]
    env = dict(os.environ)
    env.update(bundle.get("env") or {})  # KERNEL_* values of the request, as sent
    env["KERNEL_ID"] = options.kernel_id
    kernel = Kernel(kernel_argv, env)
    comm = None

    install_signal_handlers()

    try:
        ready = wait_listening(ip, ports, kernel, time.monotonic() + options.kernel_ready_timeout)
        release(holders)  # the kernel listens on them now (or is gone)
        info = {"kernel_id": options.kernel_id, "launcher_version": LAUNCHER_VERSION}
        if ready:
            comm = CommServer(comm_sock, kernel, options.kernel_id, auth_key)
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
            info["error"] = not_ready_reason(kernel, options.kernel_ready_timeout)
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
        comm_sock.close()
        shutil.rmtree(workdir, ignore_errors=True)
        log("INFO", "kernel %s ended" % options.kernel_id)


if __name__ == "__main__":
    sys.exit(main())
