"""A command run over the pooled SSH connection returns its whole output, against a real sshd.

sshd sends a command's exit status as soon as it reaps the command, which can be before the
last of its output has left the pipe (OpenSSH's ``session_exit_message``: "there could be some
more data waiting in the pipe"). A reader that stops at the exit status loses that output now
and then: CI saw ``sbatch --parsable`` on a login node return exit 0 with no job id. A command
with more output than the channel's window makes sshd hold output back on every run."""

from __future__ import annotations

import pytest

from jupyter_remote_kernels.ssh.pool import SSHPool

from ..ssh_helpers import bed_target


@pytest.mark.timeout(120)
def test_output_written_after_the_exit_status_is_returned(ssh_bed):
    """The command exits (sshd sends its exit status) while its output is still on the way
    (here from a child that writes 0.3 s later): the output is returned with the status."""
    target = bed_target(ssh_bed, ssh_bed.hosts[0])
    pool = SSHPool()
    try:
        for _ in range(3):
            result = pool.run(target, "sh -c '(sleep 0.3; echo 4242) & exit 0'", 30)
            assert result == (0, "4242\n", "")
    finally:
        pool.close()


@pytest.mark.timeout(300)
def test_output_still_in_the_pipe_at_exit_is_returned(ssh_bed):
    """10 commands that print 6 MB and exit (sshd reaps them while it still holds output
    back for the channel's window): each returns all of it, then its exit status."""
    target = bed_target(ssh_bed, ssh_bed.hosts[0])
    pool = SSHPool()
    try:
        lengths = []
        for _ in range(10):
            status, out, err = pool.run(
                target, "head -c 6000000 /dev/zero | tr '\\0' x; exit 3", 60
            )
            lengths.append((status, len(out), err))
        assert lengths == [(3, 6_000_000, "")] * 10
        status, out, err = pool.run(target, "sh -c 'echo out; echo err >&2; exit 7'", 30)
        assert (status, out, err) == (7, "out\n", "err\n")
    finally:
        pool.close()


@pytest.mark.timeout(120)
def test_a_background_child_holding_the_output_does_not_hold_the_command(ssh_bed):
    """A command that leaves a child with its output open returns soon after it exits."""
    target = bed_target(ssh_bed, ssh_bed.hosts[0])
    pool = SSHPool()
    try:
        status, out, _ = pool.run(target, "sh -c 'echo started; sleep 20 & exit 0'", 15)
        assert (status, out) == (0, "started\n")
    finally:
        pool.close()
