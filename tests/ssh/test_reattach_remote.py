"""SIGKILL the server while ssh and yarn kernels run, start it again: they are back.

Live kernels are listed again and keep their variables (a notebook reconnects through the
websocket); kernels that died while the server was down are cleaned up (their YARN
application killed). What is left is looked at on the hosts and in the RM emulator, not in
the manager's bookkeeping.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path

from ..abuse import COUNTS
from ..kernels import pids_mentioning, write_kernelspec, ws_execute
from ..server_process import ServerProcess
from ..ssh_helpers import kernel_pids, ssh_spec, sshd_sessions
from ..yarn_helpers import app_of, install_yarn_spec, submitter_script

FINAL = ("FINISHED", "FAILED", "KILLED")


def wait_for(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def listed_kernels(server: ServerProcess, expected: list[str], timeout: float = 30) -> list:
    """/api/kernels once reattaching has settled on ``expected`` (or when time is up).

    A kernel being reattached is listed while its reconnect runs (a pending start), and
    dropped if it turns out dead: wait for the list to match, then return what is listed.
    """
    ids: list[str] = []

    def settled() -> bool:
        nonlocal ids
        ids = sorted(k["id"] for k in server.request("GET", "/api/kernels").json())
        return ids == sorted(expected)

    wait_for(settled, timeout, 0.2)
    return ids


def records(base) -> list[str]:
    return sorted(p.stem for p in (base / "runtime" / "remote-kernels").glob("*.json"))


def test_sigkilled_server_reattaches_to_ssh_kernels(tmp_path, ssh_bed_factory):
    bed = ssh_bed_factory(2)
    write_kernelspec(tmp_path / "data" / "kernels", "ssh2", ssh_spec(bed))
    by_ip = {h.address: h for h in bed.hosts}
    server = ServerProcess(tmp_path, token="ssh-reattach").start()
    kernels: dict[str, object] = {}
    try:
        for value in (41, 42):
            r = server.request("POST", "/api/kernels", {"name": "ssh2"})
            assert r.status_code == 201, r.text
            model = r.json()
            kernels[model["id"]] = by_ip[model["placement"]["ip"]]
            assert ws_execute(server, model["id"], f"x = {value}; print(x)") == f"{value}\n"
        live, dead = list(kernels)
        assert kernels[live] is not kernels[dead]  # round-robin: one kernel per host
        assert records(tmp_path) == sorted(kernels)

        server.stop(signal.SIGKILL)
        COUNTS["faults"] += 1
        # The kernels outlive the server (detached from its SSH sessions) ...
        assert all(len(kernel_pids(h)) == 2 for h in bed.hosts)
        # ... and one of them dies while no server is there.
        dead_host = kernels[dead]
        for pid, _ in kernel_pids(dead_host):
            dead_host.run(f"kill -9 {pid}", check=False)
        COUNTS["faults"] += 1
        assert wait_for(lambda: not kernel_pids(dead_host), 5)

        server = ServerProcess(tmp_path, token="ssh-reattach").start()
        assert listed_kernels(server, [live]) == [live]
        placement = server.request("GET", f"/api/remote-kernels/{live}").json()["placement"]
        assert placement["phase"] == "ready" and placement["ip"] == kernels[live].address
        assert ws_execute(server, live, "print(x)") == "41\n"
        assert wait_for(lambda: records(tmp_path) == [live], 15), records(tmp_path)
        assert not (tmp_path / "runtime" / f"kernel-{dead}.json").exists()

        # The reattached kernel is managed as any other: interrupt, restart, shutdown.
        r = server.request("POST", f"/api/kernels/{live}/interrupt")
        assert r.status_code == 204
        r = server.request("POST", f"/api/kernels/{live}/restart")
        assert r.status_code == 200, r.text
        placement = server.request("GET", f"/api/remote-kernels/{live}").json()["placement"]
        assert placement["phase"] == "ready" and placement["ip"] == kernels[live].address
        assert ws_execute(server, live, "print('x' in dir())") == "False\n"
        # the old launcher and kernel are gone: one of each is left
        assert wait_for(lambda: len(kernel_pids(kernels[live])) == 2, 5)
        r = server.request("DELETE", f"/api/kernels/{live}")
        assert r.status_code == 204
        leaked = [p for h in bed.hosts for p in kernel_pids(h)]
        if leaked:
            wait_for(lambda: not any(kernel_pids(h) for h in bed.hosts), 5)
            leaked = [p for h in bed.hosts for p in kernel_pids(h)]
        COUNTS["leaked"] += len(leaked)
        assert not leaked
        assert records(tmp_path) == []
        server.stop(signal.SIGTERM)
        # The SIGKILLed server's SSH sessions ended with its connections; no new ones stay.
        assert wait_for(lambda: not any(sshd_sessions(h) for h in bed.hosts), 10), [
            h.processes() for h in bed.hosts
        ]
    finally:
        server.stop(signal.SIGKILL, timeout=10)


def launcher_pids(kernel_id: str) -> list[int]:
    """The Python launcher of ``kernel_id`` (not the AM or the shell around it)."""
    found = []
    for pid in pids_mentioning(kernel_id):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        stand_in_am = len(argv) > 1 and argv[1].endswith(b"/am.py")
        if Path(argv[0].decode()).name.startswith("python") and not stand_in_am:
            found.append(pid)
    return found


def test_sigkilled_server_reattaches_to_yarn_kernels(tmp_path, yarn_rm):
    kernels_dir = tmp_path / "data" / "kernels"
    submitter = submitter_script(tmp_path)
    install_yarn_spec(kernels_dir, "yarn-py", yarn_rm.url, submitter)
    # An AM that outlives its launcher (as a Spark driver can): YARN keeps saying RUNNING
    # after the kernel is gone, so only the provisioner's kill ends the application.
    spec = install_yarn_spec(kernels_dir, "yarn-wrapped", yarn_rm.url, submitter)
    argv = spec["argv"]
    at = argv.index("--") + 1
    argv[at:at] = ["sh", "-c", '"$0" "$@"; exec sleep 300']
    (kernels_dir / "yarn-wrapped" / "kernel.json").write_text(json.dumps(spec))

    server = ServerProcess(tmp_path, token="yarn-reattach").start()
    apps: dict[str, str] = {}
    try:
        for value, name in ((41, "yarn-py"), (42, "yarn-py"), (43, "yarn-wrapped")):
            r = server.request("POST", "/api/kernels", {"name": name})
            assert r.status_code == 201, r.text
            model = r.json()
            apps[model["id"]] = model["placement"]["details"]["app_id"]
            assert ws_execute(server, model["id"], f"x = {value}; print(x)") == f"{value}\n"
        live, ended, lost = list(apps)

        server.stop(signal.SIGKILL)
        COUNTS["faults"] += 1
        assert {app_of(yarn_rm, a)["state"] for a in apps.values()} == {"RUNNING"}
        # While no server is there, two kernels end: one application finishes with its
        # launcher, the other's launcher ends while its AM stays RUNNING.
        for kernel_id in (ended, lost):
            for pid in launcher_pids(kernel_id):
                # The kernel's own Python goes with its launcher: it may be gone already.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        COUNTS["faults"] += 2
        assert wait_for(lambda: app_of(yarn_rm, apps[ended])["state"] in FINAL, 15)
        assert wait_for(lambda: not launcher_pids(lost), 15)
        assert app_of(yarn_rm, apps[lost])["state"] == "RUNNING"

        server = ServerProcess(tmp_path, token="yarn-reattach").start()
        assert listed_kernels(server, [live]) == [live]
        placement = server.request("GET", f"/api/remote-kernels/{live}").json()["placement"]
        assert placement["phase"] == "ready" and placement["details"]["app_id"] == apps[live]
        assert ws_execute(server, live, "print(x)") == "41\n"
        # The dead kernels are cleaned up: the one YARN still ran is killed.
        assert wait_for(lambda: app_of(yarn_rm, apps[lost])["state"] == "KILLED", 15)
        assert wait_for(lambda: records(tmp_path) == [live], 5), records(tmp_path)

        # The reattached kernel follows its application again: restart, then shutdown.
        r = server.request("POST", f"/api/kernels/{live}/restart")
        assert r.status_code == 200, r.text
        assert app_of(yarn_rm, apps[live])["state"] == "KILLED"
        second = server.request("GET", f"/api/kernels/{live}").json()["placement"]
        second = second["details"]["app_id"]
        assert second != apps[live]
        r = server.request("DELETE", f"/api/kernels/{live}")
        assert r.status_code == 204
        assert app_of(yarn_rm, second)["state"] == "KILLED"
        wait_for(lambda: not yarn_rm.cluster.live_pids(), 10)
        leaked = yarn_rm.cluster.live_pids() + [
            p for k in apps for p in pids_mentioning(k)
        ]
        COUNTS["leaked"] += len(leaked)
        assert not leaked
        assert records(tmp_path) == []
    finally:
        server.stop(signal.SIGKILL, timeout=10)
