"""The launch agent of an SSH host: forks launch bootstraps, standard library only.

The server sends this file over one SSH session followed by ``main(STAGE0)`` (stage 0 of
a launch); see ``jupyter_remote_kernels/ssh/agent.py``. Each launch is a *stream*: the agent
forks a child that execs ``python -c STAGE0 ARGV...`` exactly as a one-off SSH session
would, with the stream as its stdin and stdout, but started with ``-S``: the agent's
``sys.path`` (site-packages and what their ``.pth`` files add) is handed over in
``JRK_AGENT_SYS_PATH`` instead of every launch running ``site`` again.

Frames, both directions, are ``KIND ID N\\n`` + N bytes. Server to agent: ``S`` start
(JSON argv), ``D`` stdin data, ``C`` close stdin. Agent to server: ``R`` ready, ``O``
stdout data, ``E`` the bootstrap exited (N is its exit code, no payload).
"""

import json
import os
import select
import sys


def write_all(fd, data):
    while data:
        data = data[os.write(fd, data) :]


def frame(kind, stream_id, payload=b"", size=None):
    """One frame; ``size`` replaces the length for payload-less frames (``E``)."""
    length = len(payload) if size is None else size
    return b"%s %d %d\n" % (kind, stream_id, length) + payload


def parse_frames(buffer):
    """The complete frames at the start of ``buffer`` as (kind, id, payload), and the rest."""
    frames = []
    while b"\n" in buffer:
        newline = buffer.index(b"\n")
        kind, stream_id, size = buffer[:newline].split()
        stream_id, size = int(stream_id), int(size)
        if len(buffer) < newline + 1 + size:
            break
        frames.append((kind, stream_id, buffer[newline + 1 : newline + 1 + size]))
        buffer = buffer[newline + 1 + size :]
    return frames, buffer


class Agent:
    """The streams (children) of this agent, by id and by their stdout descriptor."""

    def __init__(self, stage0):
        self.stage0 = stage0
        self.kids = {}  # id -> [pid, stdin writer (None once closed), stdout reader]
        self.by_fd = {}  # stdout reader -> id

    def start(self, stream_id, argv):
        stdin_r, stdin_w = os.pipe()
        stdout_r, stdout_w = os.pipe()
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(stdin_r, 0)
                os.dup2(stdout_w, 1)
                others = [k[1] for k in self.kids.values() if k[1] is not None]
                for fd in [stdin_r, stdin_w, stdout_r, stdout_w, *self.by_fd, *others]:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                # -S: no site (its .pth files are most of a Python start); the bootstrap
                # takes this agent's sys.path instead (see adopt_agent_path there).
                env = dict(os.environ, JRK_AGENT_SYS_PATH=json.dumps(sys.path[1:]))
                os.execve(  # noqa: S606
                    sys.executable, [sys.executable, "-S", "-c", self.stage0, *argv], env
                )
            finally:
                os._exit(127)
        os.close(stdin_r)
        os.close(stdout_w)
        self.kids[stream_id] = [pid, stdin_w, stdout_r]
        self.by_fd[stdout_r] = stream_id

    def command(self, kind, stream_id, payload):
        """A frame from the server."""
        if kind == b"S":
            self.start(stream_id, json.loads(payload))
            return
        kid = self.kids.get(stream_id)
        if kid is None or kid[1] is None:
            return
        if kind == b"D":
            try:
                write_all(kid[1], payload)
            except OSError:
                pass
        else:
            os.close(kid[1])
            kid[1] = None

    def output(self, fd):
        """Forward what a child wrote; report its exit once its stdout closes."""
        stream_id = self.by_fd[fd]
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if data:
            write_all(1, frame(b"O", stream_id, data))
            return
        os.close(fd)
        del self.by_fd[fd]
        pid, writer, _ = self.kids.pop(stream_id)
        if writer is not None:
            os.close(writer)
        try:
            _, status = os.waitpid(pid, 0)
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
        except ChildProcessError:
            code = -1
        write_all(1, frame(b"E", stream_id, size=code))

    def close(self):
        """The server has gone: close every child's stdin (its bootstrap then stops it)."""
        for _, writer, _ in self.kids.values():
            if writer is not None:
                os.close(writer)
        for pid, _, _ in self.kids.values():
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def main(stage0):
    agent = Agent(stage0)
    buffer = b""
    write_all(1, frame(b"R", 0))
    while True:
        ready = select.select([0, *agent.by_fd], [], [], 5.0)[0]
        if 0 in ready:
            data = os.read(0, 65536)
            if not data:
                break
            frames, buffer = parse_frames(buffer + data)
            for kind, stream_id, payload in frames:
                agent.command(kind, stream_id, payload)
        for fd in ready:
            if fd != 0 and fd in agent.by_fd:
                agent.output(fd)
    agent.close()
