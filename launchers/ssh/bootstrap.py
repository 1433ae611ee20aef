"""Bootstrap of an SSH launch: runs on the kernel's host, standard library only.

The server sends this file over the SSH channel's stdin (stage 0 in argv reads it) followed
by ``main()``; see ``jupyter_remote_kernels/ssh/remote.py`` for the whole exchange. What
follows it on stdin:

1. one JSON header line: ``env``, ``cwd``, ``modules`` to check, ``files`` (``[[name,
   length], ...]``: the launcher's files, its entry point first);
2. the bytes of those files, in that order (none: the launcher is the path in
   ``sys.argv[1]``, its sibling modules beside it);
3. the launch bundle line (the per-kernel secrets), handed to the launcher on a pipe.

The sent entry point runs as ``__main__``; the other sent files become importable modules
through :class:`SentModules`, from memory.

It forks the launcher into a session of its own (output to a private log file), reports
``JRK {"pid": N}`` and stays on the channel: ``detach`` on stdin lets the launcher go on
alone; EOF or ``abort`` stops the launcher's group (SIGTERM, then SIGKILL). The launcher's
exit is reported as ``JRK {"exit": code, "tail": "..."}``.
"""

import importlib.abc
import importlib.util
import json
import os
import runpy
import select
import signal
import sys
import tempfile
import time
import traceback


class StdinReader:
    """Reads exactly what was asked for from a file descriptor (no buffering surprises)."""

    def __init__(self, fd=0):
        self.fd = fd
        self.buffer = b""

    def more(self):
        data = os.read(self.fd, 65536)
        if not data:
            raise EOFError
        self.buffer += data

    def line(self):
        while b"\n" not in self.buffer:
            self.more()
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line + b"\n"

    def exact(self, size):
        while len(self.buffer) < size:
            self.more()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


class SentModules(importlib.abc.MetaPathFinder, importlib.abc.InspectLoader):
    """Imports the launcher's sibling modules from the sources that came over the channel.

    From memory, not from a temporary folder: nothing of the launcher is written on the host,
    so no file is left behind when the launcher is killed outright (SIGKILL runs no clean-up)
    and no other account can read or swap one. First on ``sys.meta_path``: a module of the
    same name on the host's ``PYTHONPATH`` cannot shadow the one that was sent.
    """

    def __init__(self, files):
        #: module name -> (file name, source)
        self.sources = {name[:-3]: (name, source) for name, source in files}

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.sources:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=self.sources[fullname][0])

    def is_package(self, fullname):
        return False

    def get_source(self, fullname):
        return self.sources[fullname][1]

    def get_code(self, fullname):
        name, source = self.sources[fullname]
        return compile(source, name, "exec")


def report(message):
    """One ``JRK {json}`` line to the server."""
    try:
        sys.stdout.write("JRK " + json.dumps(message) + "\n")
        sys.stdout.flush()
    except Exception:  # noqa: S110 - the channel is gone; nobody to tell
        pass


def missing_modules(modules):
    """The modules of ``modules`` this Python cannot import."""
    try:
        return [name for name in modules if importlib.util.find_spec(name) is None]
    except Exception:
        return list(modules)


def exit_code(status):
    """A wait status as an exit code (a signal as its negative number)."""
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return -os.WTERMSIG(status)


def run_launcher(header, files, bundle_fd, log_fd, parent):
    """In the forked child: become the launcher (never returns)."""
    code = 1
    log_path = header["log"]
    try:
        os.setsid()
        os.dup2(bundle_fd, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(bundle_fd)
        os.close(log_fd)
        sys.stdin = os.fdopen(0, "r")
        sys.stdout = os.fdopen(1, "w", 1)
        sys.stderr = os.fdopen(2, "w", 1)
        os.environ.update(header["env"])
        sys.argv = [sys.argv[1], *sys.argv[2:]]
        extra = [p for p in header["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[1:1] = extra
        try:
            if not files:
                sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
                runpy.run_path(sys.argv[0], run_name="__main__")
            else:
                (main_name, main_source), siblings = files[0], files[1:]
                sys.meta_path.insert(0, SentModules(siblings))
                sys.argv[0] = main_name
                code_object = compile(main_source, main_name, "exec")
                exec(code_object, {"__name__": "__main__", "__file__": main_name})  # noqa: S102
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
    finally:
        if os.getppid() != parent:  # the bootstrap has gone: nobody reads the log
            try:
                os.unlink(log_path)
            except OSError:
                pass
        os._exit(code)


class Launch:
    """The bootstrap's side of one running launcher."""

    def __init__(self, pid, log_path):
        self.pid = pid
        self.log_path = log_path

    def exited(self):
        """The launcher's exit code once it has exited, else None."""
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        return exit_code(status) if pid else None

    def finish(self, message):
        """Report ``message`` with the tail of the launcher's log, and leave."""
        try:
            with open(self.log_path, "rb") as log:
                message["tail"] = log.read()[-4000:].decode("utf-8", "replace")
            os.unlink(self.log_path)
        except OSError:
            pass
        report(message)
        sys.exit(0)

    def stop(self, signum, wait):
        """Signal the launcher's group; its exit code if it ended within ``wait`` s."""
        try:
            os.killpg(self.pid, signum)
        except OSError:
            pass
        end = time.time() + wait
        while time.time() < end:
            code = self.exited()
            if code is not None:
                return code
            time.sleep(0.05)
        return None


def follow(launch, reader):
    """Stay on the channel until detach, the launcher's exit, or EOF / abort (never returns)."""
    while True:
        code = launch.exited()
        if code is not None:
            launch.finish({"exit": code})
        if b"detach" in reader.buffer:
            report({"detached": True})
            sys.exit(0)
        eof = b"abort" in reader.buffer
        if not eof and select.select([reader.fd], [], [], 0.2)[0]:
            try:
                reader.more()
            except (EOFError, OSError):
                eof = True
        if eof:
            code = launch.stop(signal.SIGTERM, 5.0)
            if code is None:
                code = launch.stop(signal.SIGKILL, 2.0)
            launch.finish({"aborted": True, "exit": code})


def adopt_agent_path():
    """Started by the host's launch agent with ``-S`` (no ``site``, a faster start): take
    the agent's ``sys.path``, which ``site`` made for this same Python. The variable is
    removed, so the launcher and the kernel never see it."""
    paths = os.environ.pop("JRK_AGENT_SYS_PATH", None)
    if paths is not None and sys.flags.no_site:
        sys.path[1:] = [p for p in json.loads(paths) if isinstance(p, str)]


def main():
    adopt_agent_path()
    reader = StdinReader(0)
    header = json.loads(reader.line().decode())
    files = [(name, reader.exact(size).decode()) for name, size in header["files"]]
    bundle = reader.line()
    missing = missing_modules(header["modules"])
    if missing:
        report({"error": "missing", "modules": missing, "python": sys.executable})
        sys.exit(3)
    if header.get("cwd"):
        try:
            os.chdir(os.path.expanduser(header["cwd"]))
        except OSError as exc:
            report({"error": "cwd", "detail": str(exc)})
            sys.exit(4)
    log_fd, header["log"] = tempfile.mkstemp(prefix="jrk-kernel-", suffix=".log")
    bundle_fd, writer = os.pipe()
    os.write(writer, bundle)
    os.close(writer)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        run_launcher(header, files, bundle_fd, log_fd, parent)
    os.close(bundle_fd)
    os.close(log_fd)
    report({"pid": pid})
    follow(Launch(pid, header["log"]), reader)
