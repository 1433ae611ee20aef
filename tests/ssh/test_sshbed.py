"""Tests of the SSH test bed itself: real sshd, real ssh/paramiko clients, no mocks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import paramiko
import pytest

from testing.sshbed import SSHTestBed, cleanup_stale, netns_available, state_dir
from tests.requirements import require

# fixtures ssh_bed / ssh_bed_factory, unless tests/conftest.py (or -p) already provides them
if "tests.conftest_sshbed" not in sys.modules:
    pytest_plugins = ["tests.conftest_sshbed"]

HOSTNAME_PY = 'python3 -c "import socket;print(socket.gethostname())"'


def ssh(bed, host, command, timeout=30):
    return subprocess.run(
        [
            "ssh",
            "-F",
            str(bed.ssh_config_path),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            host.name,
            command,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def paramiko_client(bed, host, timeout=10):
    client = paramiko.SSHClient()
    client.load_host_keys(str(bed.known_hosts_path))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        **host.connect_kwargs(), timeout=timeout, banner_timeout=timeout, auth_timeout=timeout
    )
    return client


def paramiko_exec(client, command, timeout=30):
    _, stdout, stderr = client.exec_command(command, timeout=timeout)
    status = stdout.channel.recv_exit_status()
    return status, stdout.read().decode(), stderr.read().decode()


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def pid_alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def connect_fails(host, timeout=8.0):
    """Seconds it took a TCP connect to the host's sshd to fail; raises if it succeeds."""
    start = time.monotonic()
    try:
        socket.create_connection((host.address, host.port), timeout=timeout).close()
    except OSError:
        return time.monotonic() - start
    raise AssertionError(f"{host.name} still accepts connections")


def bed_resources(bed):
    names = [h.netns for h in bed.hosts if h.netns]
    links = [h.veth for h in bed.hosts if h.veth] + ([bed.bridge] if bed.bridge else [])
    return names, links


def assert_all_gone(bed, names, links, pids):
    netns = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=False
    ).stdout
    link = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=False).stdout
    for name in names:
        assert name not in netns
    for name in links:
        assert f" {name}:" not in link and f" {name}@" not in link
    assert [pid for pid in pids if pid_alive(pid)] == []
    assert not bed.workdir.exists()
    assert not bed.state_path.exists()


def test_mode_is_netns_when_root(ssh_bed):
    if netns_available():
        assert ssh_bed.mode == "netns"
        assert ssh_bed.distinct_hostnames
        assert ssh_bed.route_source_address == f"{ssh_bed.subnet}.1"
    else:
        assert ssh_bed.mode == "loopback"
        assert ssh_bed.route_source_address == "127.0.0.1"
    assert [h.name for h in ssh_bed.hosts] == ["h1", "h2"]
    assert all(h.is_running for h in ssh_bed.hosts)


def test_openssh_client_sees_each_hosts_hostname(ssh_bed):
    names = []
    for host in ssh_bed.hosts:
        proc = ssh(ssh_bed, host, "hostname")
        assert proc.returncode == 0, proc.stderr
        names.append(proc.stdout.strip())
        assert names[-1] == host.hostname
    if ssh_bed.distinct_hostnames:
        assert names == ["jrk-host1", "jrk-host2"]


def test_run_process_shows_up_on_that_host_only(ssh_bed):
    h1, h2 = ssh_bed.hosts
    proc = h1.run(["sleep", "60"], background=True)
    try:
        wait_for(lambda: proc.pid in h1.pids(), what="sleep in h1.pids()")
        assert proc.pid not in h2.pids()
        assert (proc.pid, "sleep 60") in h1.processes()
        assert h1.master_pid not in h1.pids()
        if ssh_bed.distinct_hostnames:
            assert h1.run("hostname").stdout.strip() == "jrk-host1"
    finally:
        proc.kill()
        proc.wait()
    wait_for(lambda: proc.pid not in h1.pids(), what="sleep gone from h1.pids()")


def test_process_started_over_ssh_runs_on_that_host(ssh_bed):
    h1, h2 = ssh_bed.hosts
    client = paramiko_client(ssh_bed, h1)
    try:
        channel = client.get_transport().open_session()
        channel.exec_command("exec sleep 61")

        def sleeping(host):
            return [pid for pid, cmd in host.processes() if cmd == "sleep 61"]

        wait_for(lambda: sleeping(h1), what="sleep 61 on h1")
        assert sleeping(h2) == []
        assert any(cmd.startswith("sshd:") for _, cmd in h1.processes())
        assert all(not cmd.startswith("sshd:") for _, cmd in h1.processes(exclude_sshd=True))
        channel.close()
    finally:
        client.close()
    # OpenSSH does not signal a command without a pty when its session closes: it lives on
    for pid in sleeping(h1):
        os.kill(pid, 9)
    wait_for(lambda: not sleeping(h1), what="sleep 61 to be gone")


def test_hosts_reach_the_server_at_route_source_address(ssh_bed):
    """What a kernel's callback needs: a host connects back to the server's address."""
    with socket.socket() as server:
        server.bind((ssh_bed.route_source_address, 0))
        server.listen()
        server.settimeout(10)
        port = server.getsockname()[1]
        for host in ssh_bed.hosts:
            code = (
                f"import socket;s=socket.create_connection("
                f"({ssh_bed.route_source_address!r},{port}),timeout=5);"
                "s.sendall(socket.gethostname().encode());s.close()"
            )
            proc = host.run([sys.executable, "-c", code], background=True)
            conn, (peer, _) = server.accept()
            with conn:
                conn.settimeout(10)
                assert conn.recv(100).decode() == host.hostname
            assert peer == host.address
            assert proc.wait(10) == 0


def test_paramiko_reject_policy_with_known_hosts(ssh_bed):
    for host in ssh_bed.hosts:
        client = paramiko_client(ssh_bed, host)
        try:
            status, out, err = paramiko_exec(client, HOSTNAME_PY)
            assert status == 0, err
            assert out.strip() == host.hostname
            if ssh_bed.distinct_hostnames:  # the host resolves its own name to its address
                resolve = (
                    'python3 -c "import socket;print(socket.gethostbyname(socket.gethostname()))"'
                )
                status, out, err = paramiko_exec(client, resolve)
                assert (status, out.strip()) == (0, host.address), err
        finally:
            client.close()
    # and an unknown host key is really rejected
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        client.connect(**ssh_bed.hosts[0].connect_kwargs(), timeout=10)
    client.close()


def test_bad_hosts(ssh_bed_factory):
    bed = ssh_bed_factory(1, extra_hosts=("refuse_key", "no_python", "down"))
    good, refusing, no_python, down = bed.hosts
    assert [h.kind for h in bed.hosts] == ["normal", "refuse_key", "no_python", "down"]

    # refuses the bed's client key
    proc = ssh(bed, refusing, "true")
    assert proc.returncode == 255
    assert "Permission denied (publickey)" in proc.stderr
    with pytest.raises(paramiko.AuthenticationException):
        paramiko_client(bed, refusing)

    # no python3 by name, other commands work
    proc = ssh(bed, no_python, "hostname && python3 -c 1")
    assert proc.returncode == 127, proc
    assert proc.stdout.strip() == no_python.hostname
    assert ssh(bed, no_python, "/usr/bin/env python3 -c 1").returncode == 127
    assert ssh(bed, no_python, "command -v python3").returncode != 0
    client = paramiko_client(bed, no_python)
    try:
        status, _, err = paramiko_exec(client, HOSTNAME_PY)
        assert status == 127
        assert "python3" in err
    finally:
        client.close()
    assert ssh(bed, good, "python3 -c 1").returncode == 0

    # down: nothing answers on its address, until it is started
    assert not down.is_running
    assert connect_fails(down) < 6
    with pytest.raises((OSError, paramiko.SSHException)):
        paramiko_client(bed, down, timeout=5)
    down.start()
    proc = ssh(bed, down, "hostname")
    assert (proc.returncode, proc.stdout.strip()) == (0, down.hostname), proc.stderr


def test_add_host_to_running_bed(ssh_bed_factory):
    bed = ssh_bed_factory(1)
    h2 = bed.add_host()
    assert h2.name == "h2"
    proc = ssh(bed, h2, "hostname")
    assert (proc.returncode, proc.stdout.strip()) == (0, h2.hostname), proc.stderr
    if bed.distinct_hostnames:  # /etc/hosts of running h1 knows the new host
        assert "jrk-host2" in bed.hosts[0].run("getent hosts jrk-host2").stdout


def test_host_stop_and_start(ssh_bed_factory):
    bed = ssh_bed_factory(2)
    h1, h2 = bed.hosts
    sleeper = h1.run(["sleep", "62"], background=True)
    wait_for(lambda: sleeper.pid in h1.pids(), what="sleeper on h1")
    old_master = h1.master_pid

    h1.stop()
    assert not h1.is_running
    assert not pid_alive(old_master)
    assert not pid_alive(sleeper.pid)
    assert h1.pids() == []
    elapsed = connect_fails(h1)
    assert elapsed < 6
    assert ssh(bed, h2, "hostname").stdout.strip() == h2.hostname  # h2 unaffected

    h1.start()
    proc = ssh(bed, h1, "hostname")
    assert (proc.returncode, proc.stdout.strip()) == (0, h1.hostname), proc.stderr

    h1.stop(unreachable=False)  # sshd dead but the address answers: refused at once
    assert connect_fails(h1) < 1
    h1.start()


def test_teardown_leaves_nothing(tmp_path):
    bed = SSHTestBed(2, tmp_path / "bed", extra_hosts=("down",))
    try:
        bed.start()
        h1 = bed.hosts[0]
        sleeper = h1.run("sleep 63", background=True)
        client = paramiko_client(bed, h1)
        client.exec_command("sleep 64")
        wait_for(lambda: any(cmd == "sleep 64" for _, cmd in h1.processes()), what="sleep 64 on h1")
        pids = [h.master_pid for h in bed.hosts if h.master_pid] + [sleeper.pid]
        pids += [pid for h in bed.hosts for pid in h.pids()]
        names, links = bed_resources(bed)
        assert bed.state_path.exists()
    finally:
        bed.stop()
    client.close()
    assert_all_gone(bed, names, links, pids)
    bed.stop()  # idempotent


def test_cleanup_after_owner_was_killed(tmp_path):
    script = (
        "import json, os, signal, sys\n"
        "from testing.sshbed import SSHTestBed\n"
        "bed = SSHTestBed(2, sys.argv[1]).start()\n"
        "p = bed.hosts[0].run('sleep 65', background=True)\n"
        "print(json.dumps({'state': str(bed.state_path), 'workdir': str(bed.workdir),\n"
        "  'mode': bed.mode, 'pids': [h.master_pid for h in bed.hosts] + [p.pid],\n"
        "  'netns': [h.netns for h in bed.hosts if h.netns],\n"
        "  'links': [h.veth for h in bed.hosts if h.veth] + [bed.bridge] * bool(bed.bridge)}))\n"
        "sys.stdout.flush()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "bed")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == -9, proc.stderr
    info = json.loads(proc.stdout)
    assert Path(info["state"]).exists()
    assert all(pid_alive(pid) for pid in info["pids"])
    bed_id = Path(info["state"]).stem
    cleaned = cleanup_stale()
    assert bed_id in cleaned
    netns = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=False
    ).stdout
    assert not any(name in netns for name in info["netns"])
    for link in info["links"]:
        assert not Path(f"/sys/class/net/{link}").exists()
    wait_for(
        lambda: not any(pid_alive(pid) for pid in info["pids"]),
        timeout=5,
        what="processes of the killed bed to go",
    )
    assert not Path(info["workdir"]).exists()
    assert not Path(info["state"]).exists()


def test_cleanup_spares_live_beds(ssh_bed):
    assert ssh_bed.id not in cleanup_stale()
    assert ssh_bed.state_path.exists()
    assert ssh(ssh_bed, ssh_bed.hosts[0], "true").returncode == 0
    assert state_dir().is_dir()


def test_loopback_mode(ssh_bed_factory):
    bed = ssh_bed_factory(2, mode="loopback")
    assert bed.mode == "loopback"
    assert not bed.distinct_hostnames
    assert bed.route_source_address == "127.0.0.1"
    h1, h2 = bed.hosts
    assert (h1.address, h2.address) == ("127.0.0.11", "127.0.0.12")
    for host in bed.hosts:
        proc = ssh(bed, host, "hostname")
        assert (proc.returncode, proc.stdout.strip()) == (0, socket.gethostname()), proc.stderr
    client = paramiko_client(bed, h1)
    try:
        client.exec_command("sleep 66")
        wait_for(lambda: any(cmd == "sleep 66" for _, cmd in h1.processes()), what="sleep 66 on h1")
        assert not any(cmd == "sleep 66" for _, cmd in h2.processes())
        sleeper = h2.run(["sleep", "67"], background=True)
        wait_for(lambda: sleeper.pid in h2.pids(), what="sleeper in h2.pids()")
        assert sleeper.pid not in h1.pids()
        doomed = h1.pids()
        h1.stop()
        assert connect_fails(h1) < 1
        assert not any(pid_alive(pid) for pid in doomed)
        h1.start()
        assert ssh(bed, h1, "true").returncode == 0
    finally:
        client.close()


def test_two_beds_do_not_clash(ssh_bed, ssh_bed_factory):
    require(
        os.geteuid() == 0 and netns_available(),
        "network namespaces (root and a working `ip netns`)",
        "run the tests as root on Linux with iproute2",
    )
    other = ssh_bed_factory(1)
    assert other.subnet != ssh_bed.subnet
    assert other.bridge != ssh_bed.bridge
    assert ssh(other, other.hosts[0], "hostname").stdout.strip() == "jrk-host1"
    assert ssh(ssh_bed, ssh_bed.hosts[0], "hostname").returncode == 0
