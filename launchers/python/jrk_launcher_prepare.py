"""A warm pool's kernel: the hook that gives it its user's working directory and environment.

A sibling module of ``launch_ipykernel.py``, standard library only, carried along by every
delivery like ``jrk_launcher_comm.py`` (``jupyter_remote_kernels.paths.launcher_files``).

A kernel started for a warm pool (launch bundle ``"pool": true``) is handed out later, to a
start request with a working directory and ``KERNEL_*``/environment values of its own. The
launcher then gets the communication-port command ``prepare`` with ``args`` ``{"cwd": folder
or null, "env": {name: value}}`` and must have *the kernel process* apply them:

- The launcher starts the kernel with a pipe pair (:class:`PrepareHook`): the kernel inherits
  one end of each (``pass_fds``) and finds their numbers in ``$JRK_PREPARE_FDS`` (of the
  kernel only; the hook removes it).
- One more IPython ``exec_lines`` entry runs :data:`PREPARE_HOOK` in a namespace of its own
  (nothing appears in the user's namespace, and start-up lines neither count as executions
  nor go into the history). It starts a daemon thread that says it is ready, waits for one
  request line, does ``os.chdir(cwd)`` (when a cwd is given) and ``os.environ.update(env)``,
  answers ``ok`` or the error, closes its pipes and ends.
- The launcher waits for the ready line before its callback (so a pool kernel counts as
  ready only once its hook runs) and answers ``prepare`` only after the kernel's answer, or
  with an error after :data:`PREPARE_TIMEOUT` seconds. A kernel takes one ``prepare``.
"""

import json
import os
import select
import threading
import time

#: Seconds the kernel gets to answer a ``prepare`` (its hook thread already runs).
PREPARE_TIMEOUT = 3.0
#: The largest ``args`` of a ``prepare``, UTF-8 JSON (it must fit a pipe's buffer at once).
PREPARE_MAX_BYTES = 32768
#: The kernel's environment variable naming its ends of the pipes ("READ_FD,WRITE_FD").
PREPARE_FDS_ENV = "JRK_PREPARE_FDS"

#: Run inside the kernel (an ``exec_lines`` entry, see :meth:`PrepareHook.exec_line`).
PREPARE_HOOK = r"""
import json, os, threading

fds = [int(fd) for fd in os.environ.pop(%(env)r).split(",")]
for fd in fds:
    os.set_inheritable(fd, False)  # the user's subprocesses do not get them


def serve():
    try:
        with os.fdopen(fds[0], "rb") as reader, os.fdopen(fds[1], "wb", 0) as writer:
            writer.write(b'{"ready": true}\n')
            line = reader.readline(%(max)d)
            if not line.endswith(b"\n"):
                return  # the launcher went away
            try:
                request = json.loads(line)
                if request.get("cwd"):
                    os.chdir(request["cwd"])
                os.environ.update(request.get("env") or {})
                reply = {"ok": True}
            except Exception as exc:
                reply = {"ok": False, "error": ("%%s: %%s" %% (type(exc).__name__, exc))[:500]}
            writer.write(json.dumps(reply).encode() + b"\n")
    except OSError:
        pass


threading.Thread(target=serve, name="jrk-prepare", daemon=True).start()
""" % {"env": PREPARE_FDS_ENV, "max": PREPARE_MAX_BYTES + 2}


def bad_prepare_args(args):
    """What is wrong with ``prepare``'s args, or None when they are well-formed."""
    if not isinstance(args, dict) or not set(args) <= {"cwd", "env"}:
        return 'prepare takes args {"cwd": folder or null, "env": {name: value}}'
    cwd, env = args.get("cwd"), args.get("env")
    if cwd is not None and (not isinstance(cwd, str) or "\0" in cwd):
        return "prepare: cwd must be a folder path on the kernel's host, or null"
    if env is not None and not isinstance(env, dict):
        return "prepare: env must map variable names to string values"
    for name, value in (env or {}).items():
        if not (name and isinstance(value, str)) or "=" in name or "\0" in name + value:
            return (
                "prepare: bad environment variable %r: names are non-empty and without '=', "
                "values are strings, neither holds a NUL" % name[:100]
            )
    try:
        size = len(json.dumps(args, ensure_ascii=False).encode("utf-8"))
    except UnicodeError:
        return "prepare: cwd and env must be valid Unicode text"
    if size > PREPARE_MAX_BYTES:
        return "prepare: cwd and env take %d bytes, more than the %d allowed" % (
            size,
            PREPARE_MAX_BYTES,
        )
    return None


class PrepareHook:
    """The launcher's end of a pool kernel's hook: two pipes, used for one ``prepare``.

    Made by the launcher's ``main`` before it starts the kernel with :attr:`kernel_fds`
    (``pass_fds``), :attr:`env` and :meth:`exec_line`; :meth:`wait_ready` is called before
    the callback, :meth:`apply` by the communication port's ``prepare``, :meth:`close` when
    the launcher ends.
    """

    def __init__(self):
        kernel_read, self.writer = os.pipe()
        self.reader, kernel_write = os.pipe()
        self.kernel_fds = (kernel_read, kernel_write)
        self.env = {PREPARE_FDS_ENV: "%d,%d" % self.kernel_fds}
        self.open_fds = {kernel_read, kernel_write, self.reader, self.writer}
        self.buffer = b""
        self.lock = threading.Lock()
        self.used = False

    def exec_line(self):
        """The IPython start-up line that runs :data:`PREPARE_HOOK` in a namespace of its own."""
        return "exec(%r, {'__name__': 'jrk_prepare'})" % PREPARE_HOOK

    def wait_ready(self, deadline):
        """True once the hook runs in the kernel; False if the kernel died or took too long."""
        self.close(self.kernel_fds)  # the kernel has them: its end reads as end of file here
        reply = self.read_line(deadline)
        return reply is not None and reply.get("ready") is True

    def apply(self, args):
        """Have the kernel apply ``args``: None once it confirmed, else what went wrong."""
        error = bad_prepare_args(args)
        if error:
            return error
        with self.lock:
            if self.used:
                return "this kernel was prepared once already; start a fresh kernel"
            self.used = True
        try:
            data = json.dumps(args, ensure_ascii=False).encode("utf-8") + b"\n"
            os.write(self.writer, data)  # at most PREPARE_MAX_BYTES + 1: fits the pipe
            reply = self.read_line(time.monotonic() + PREPARE_TIMEOUT)
        except OSError:
            reply = None
        finally:
            self.close((self.writer, self.reader))
        if reply is None:
            return "the kernel did not confirm within %.0f s (busy or gone)" % PREPARE_TIMEOUT
        if reply.get("ok") is not True:
            return "the kernel could not apply it: %s" % reply.get("error")
        return None

    def read_line(self, deadline):
        """The kernel's next line as a dict, or None (end of file, timeout, not JSON)."""
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or len(self.buffer) > 65536:
                return None
            try:
                if not select.select([self.reader], [], [], remaining)[0]:
                    continue
                chunk = os.read(self.reader, 4096)
            except (OSError, ValueError):
                return None
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            reply = json.loads(line)
        except ValueError:
            return None
        return reply if isinstance(reply, dict) else None

    def close(self, fds=None):
        """Close ``fds`` (default: every one still open)."""
        with self.lock:
            for fd in list(self.open_fds if fds is None else fds):
                if fd in self.open_fds:
                    self.open_fds.discard(fd)
                    os.close(fd)
