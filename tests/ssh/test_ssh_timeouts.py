"""Every SSH wait has a timeout, against a real sshd that stops answering (frozen with
SIGSTOP after the session channel opened): the product's request gives up in time with a
clear error, where paramiko's own ``Channel.exec_command`` would wait for ever."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from jupyter_remote_kernels.ssh.pool import SSHHostError, SSHPool, exec_command

from ..ssh_helpers import bed_target


@pytest.mark.timeout(120)
def test_a_command_request_to_a_host_that_stopped_answering_gives_up(ssh_bed_factory):
    bed = ssh_bed_factory(1)
    host = bed.hosts[0]
    target = bed_target(bed, host)
    pool = SSHPool()
    conn, ours = pool.open_session(target, 5)
    _, plain = pool.open_session(target, 5)
    frozen = [pid for pid, cmd in host.processes() if cmd.startswith("sshd")] + [host.master_pid]
    outcome: dict[str, object] = {}

    def paramiko_alone() -> None:
        try:
            plain.exec_command("true")
            outcome["plain"] = "answered"
        except Exception as exc:
            outcome["plain"] = exc

    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        waiting = threading.Thread(target=paramiko_alone, daemon=True)
        waiting.start()
        started = time.monotonic()
        with pytest.raises(SSHHostError, match="did not answer an SSH command request"):
            exec_command(ours, "true", 2.0, host.address)
        assert time.monotonic() - started < 6
        # The condition is real: paramiko's own call is still waiting for the answer.
        waiting.join(3)
        assert waiting.is_alive() and "plain" not in outcome
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    waiting.join(30)
    assert not waiting.is_alive()
    # Once sshd answers again the connection works as before.
    pool.release(target, conn)
    pool.release(target, conn)
    assert pool.run(target, "echo ok", 10)[:2] == (0, "ok\n")
    pool.close()
