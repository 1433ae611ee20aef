"""The Python launcher's kernel process, communication port and copy of the protocol.

A sibling module of ``launch_ipykernel.py`` (which imports it), standard library only. Every
delivery of the launcher carries both files (``jupyter_remote_kernels.paths.launcher_files``):
beside each other on disk (local, an SSH host's launcher path), sent together over the SSH
channel (the bootstrap imports this one from memory) or, on YARN, as spark-submit's primary
file plus ``--files``. The name is prefixed so that no module of a user's kernel environment
shadows it.

- The protocol constants and :func:`mac` must agree with
  ``jupyter_remote_kernels/launch/protocol.py`` (a unit test compares them).
- :func:`bind_socket`, :func:`select_ports`: the kernel's five ports and the communication
  port, held until the kernel listens (:func:`wait_listening`).
- :class:`Kernel` is the kernel child process in its own process group, with its output passed
  on and killed when the launcher dies.
- :class:`CommServer` serves the communication port: interrupt, signal N, terminate, kill,
  shutdown, ping and (a warm pool's kernel only, see ``jrk_launcher_prepare.py``) prepare,
  each authenticated with HMAC-SHA256 over a fresh challenge.
"""

import collections
import ctypes
import json
import os
import random
import select
import signal
import socket
import subprocess
import sys
import threading
import time

LAUNCHER_VERSION = "1"
CALLBACK_PROTOCOL = "jrk-callback/1"
COMM_PROTOCOL = "jrk-comm/1"
MAX_LINE = 65536
IO_TIMEOUT = 10.0
PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
COMM_COMMANDS = ("ping", "interrupt", "signal", "terminate", "kill", "shutdown", "prepare")


def canonical(obj):
    """The bytes a MAC is computed over: JSON with sorted keys and no spaces."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def mac(auth_key, label, challenge, obj=None):
    """HMAC-SHA256 over a label, the peer's challenge and an optional object."""
    data = label.encode() + b"\n" + challenge.encode()
    if obj is not None:
        data += b"\n" + canonical(obj)
    hmac, hashlib = crypto()
    return hmac.new(bytes.fromhex(auth_key), data, hashlib.sha256).hexdigest()


def crypto():
    """``hmac`` and ``hashlib``, imported once the kernel is started: loading OpenSSL is a
    good part of a Python start, and nothing before the kernel's start needs them."""
    import hashlib  # noqa: PLC0415
    import hmac  # noqa: PLC0415

    return hmac, hashlib


LOG_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}
#: The launcher's log level (``--log-level``), set by :func:`set_log_level`.
LOG_LEVEL = ["INFO"]


def set_log_level(level):
    LOG_LEVEL[0] = level


def log(level, message):
    """Log to stderr; the launcher never logs a key."""
    if LOG_LEVELS[level] >= LOG_LEVELS[LOG_LEVEL[0]]:
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
            # ipykernel prints its "--existing" line once it has bound its ports: wake
            # then, not at the next tick of a poll (its heartbeat may bind a moment later).
            if kernel.done_with_connection_file.wait(0.05):
                time.sleep(0.005)
    return not pending


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

    def __init__(self, argv, env, pass_fds=()):
        self.process = subprocess.Popen(
            argv,
            env=env,
            pass_fds=pass_fds,
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

    def __init__(self, sock, kernel, kernel_id, auth_key, prepare_hook=None):
        super().__init__(name="comm-port", daemon=True)
        self.sock = sock
        self.kernel = kernel
        #: A pool launch's ``jrk_launcher_prepare.PrepareHook``; None otherwise.
        self.prepare_hook = prepare_hook
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
            challenge = os.urandom(16).hex()
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
            if "args" in message:  # in the MAC only when sent (older servers send none)
                request["args"] = message["args"]
            expected = mac(self.auth_key, COMM_PROTOCOL, challenge, request)
            if not crypto()[0].compare_digest(expected, str(message["mac"])):
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
        elif cmd == "prepare":
            return self.prepare(request.get("args"))
        log("DEBUG", "comm-port command %s done" % cmd)
        return {"ok": True, "alive": self.kernel.alive(), "exit_code": self.kernel.process.poll()}

    def prepare(self, args):
        """A warm pool's kernel takes its user's working directory and environment."""
        if self.prepare_hook is None:
            error = "kernel %s was not launched for a warm pool" % self.kernel_id
        else:
            error = self.prepare_hook.apply(args)  # waits for the kernel's answer
        reply = {"ok": not error, "alive": self.kernel.alive()}
        reply["exit_code"] = self.kernel.process.poll()
        if error:
            log("WARNING", "prepare refused: %s" % error)
            reply["error"] = error
        else:
            log("INFO", "kernel %s got its user's working directory and env" % self.kernel_id)
        return reply
