"""A user's Jupyter Server with ``--gateway-url`` at a Jupyter Server running this project.

JupyterHub's common deployment: each user's server (Jupyter Server's own gateway client)
reaches one shared gateway under the gateway's one token and names its user in
``KERNEL_USERNAME``. Both servers are real ``jupyter server`` processes; the tests talk REST
and websocket to the user's server only, as JupyterLab does, and look at the kernels'
processes (locally and on real sshd test hosts) to see what runs and as whom.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import signal
import time

import pytest

from testing.procs import environ
from testing.sshbed import SSHD, SSHTestBed

from ..kernels import launcher_argv, local_spec, pids_mentioning, write_kernelspec
from ..requirements import require
from ..server_process import ServerProcess, free_port
from ..ssh_helpers import kernel_pids, ssh_spec
from .users import REQUEST_TIMEOUT, START_TIMEOUT, UserServer, WSKernel, gateway_server, wait_for

#: Kernelspec config on the gateway: who the hub may not start kernels for.
REFUSED = {"unauthorized_users": ["mallory"]}
WHO = (
    "import os, socket; "
    "print(os.environ.get('KERNEL_USERNAME'), socket.gethostname(), os.getpid())"
)


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    """Two sshd hosts of this module's own: the processes counted on them are its kernels'."""
    require(shutil.which("sshd") or os.access(SSHD, os.X_OK), "sshd",
            "Debian: apt-get install openssh-server")
    bed = SSHTestBed(2, tmp_path_factory.mktemp("gw-sshbed"))
    try:
        yield bed.start()
    finally:
        bed.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, bed):
    """The shared gateway: local and SSH kernelspecs (mallory refused); the hub's users
    mapped to the users their kernels run as (bob's to robert)."""
    base = tmp_path_factory.mktemp("gateway")
    kernels = base / "data" / "kernels"
    write_kernelspec(kernels, "gw-local", local_spec(launcher_argv(), launch_timeout=60, **REFUSED))
    write_kernelspec(kernels, "gw-ssh", ssh_spec(bed, launch_timeout=60, **REFUSED))
    mapping = {name: name for name in ("alice", "carol", "mallory")} | {"bob": "robert"}
    (base / "config").mkdir()
    (base / "config" / "jupyter_server_config.json").write_text(
        json.dumps({"RemoteMappingKernelManager": {"kernel_user_mapping": mapping}})
    )
    server = gateway_server(base, "--KernelSpecManager.ensure_native_kernel=False")
    try:  # a start that times out leaves its process: stop it too
        server.start(START_TIMEOUT)
        yield server
    finally:
        server.stop()


@pytest.fixture
def users(tmp_path, gateway):
    """``users("alice")`` starts alice's server; each is stopped (SIGTERM) at teardown."""
    started: list[UserServer] = []

    def start(name: str, **kwargs) -> UserServer:
        server = UserServer(tmp_path / name, name, gateway.url, **kwargs)
        started.append(server)  # stopped at teardown even if its start times out
        return server.start()

    yield start
    for server in started:
        server.stop()


def kernel_processes(kernel_id: str, bed) -> list[int]:
    """Launcher and kernel processes of ``kernel_id``, here and on the SSH hosts."""
    here = pids_mentioning(kernel_id)
    remote = [pid for h in bed.hosts for pid, cmd in kernel_pids(h) if kernel_id in cmd]
    return sorted(set(here) | set(remote))


def where(bed, kind: str) -> set[str]:
    if kind == "ssh":
        return {h.hostname for h in bed.hosts} | {h.address for h in bed.hosts}
    return {os.uname().nodename}


@pytest.mark.parametrize(("spec", "kind"), [("gw-local", "local"), ("gw-ssh", "ssh")])
def test_kernel_lifecycle_through_a_users_server(users, gateway, bed, spec, kind):
    alice = users("alice")
    model = alice.start_kernel(spec)
    kernel_id = model["id"]
    # Jupyter Server's gateway client keeps the gateway's model whole: placement included.
    assert model["placement"]["kind"] == kind and model["placement"]["phase"] == "ready"
    assert model["placement"]["host"] in where(bed, kind)
    assert len(kernel_processes(kernel_id, bed)) == 2  # the launcher and its kernel

    # The lab's API on the user's server: where the kernel runs, as the gateway says.
    listed = alice.get("/api/remote-kernels")
    assert [m["kernel_id"] for m in listed] == [kernel_id]
    assert listed[0]["placement"]["kind"] == kind
    assert listed[0]["placement"]["host"] == model["placement"]["host"]
    assert listed[0]["display_name"] == "Python (ssh)" if kind == "ssh" else spec
    assert alice.get(f"/api/remote-kernels/{kernel_id}")["placement"]["pid"] is not None
    assert alice.get("/api/remote-kernels/pools") == []

    with WSKernel(alice, kernel_id) as ws:
        user, host, pid = ws.execute(WHO)["stdout"].split()
        assert user == "alice" and host in where(bed, kind)
        assert environ(int(pid)).get("KERNEL_USERNAME") == "alice"  # the process itself

        # Interrupt through the user's server's REST API, as the lab's stop button does.
        msg_id = ws.send_execute("import time; time.sleep(300)")
        ws.wait(msg_id, until="started")
        response = alice.request("POST", f"/api/kernels/{kernel_id}/interrupt")
        assert response.status_code == 204, response.text
        reply = ws.wait(msg_id, timeout=30)
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"

    response = alice.request(
        "POST", f"/api/kernels/{kernel_id}/restart", timeout=REQUEST_TIMEOUT
    )
    assert response.status_code == 200, response.text
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 10)
    with WSKernel(alice, kernel_id) as ws:
        user, _, new_pid = ws.execute(WHO)["stdout"].split()
    assert user == "alice" and new_pid != pid
    assert alice.get(f"/api/remote-kernels/{kernel_id}")["placement"]["phase"] == "ready"

    response = alice.request("DELETE", f"/api/kernels/{kernel_id}", timeout=REQUEST_TIMEOUT)
    assert response.status_code == 204, response.text
    assert wait_for(lambda: not kernel_processes(kernel_id, bed), 10), kernel_processes(
        kernel_id, bed
    )
    assert alice.get("/api/remote-kernels") == []
    assert gateway.request("GET", "/api/kernels").json() == []


def test_concurrent_kernels_and_nothing_left_after_the_users_server_stops(
    users, gateway, bed
):
    alice = users("alice")
    names = ["gw-local", "gw-ssh", "gw-local", "gw-ssh"]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        models = list(pool.map(alice.start_kernel, names))
    ids = [m["id"] for m in models]
    assert len(set(ids)) == 4
    assert sorted(m["placement"]["kind"] for m in models) == ["local", "local", "ssh", "ssh"]
    assert sorted(m["kernel_id"] for m in alice.get("/api/remote-kernels")) == sorted(ids)
    for kernel_id in ids:
        with WSKernel(alice, kernel_id) as ws:
            assert ws.execute(WHO)["stdout"].split()[0] == "alice"
        assert len(kernel_processes(kernel_id, bed)) == 2

    alice.stop(signal.SIGTERM, timeout=60)
    assert alice.process.returncode is not None
    # The user's server shut its kernels down on the gateway as it stopped.
    assert wait_for(lambda: not any(kernel_processes(k, bed) for k in ids), 10), [
        kernel_processes(k, bed) for k in ids
    ]
    assert gateway.request("GET", "/api/kernels").json() == []
    assert not any(kernel_pids(h) for h in bed.hosts)


def test_users_named_by_the_hub(users, gateway, bed):
    """Each user's kernels run as the user its hub names (mapped), only its own are
    listed on its server, and unauthorized_users is refused through the user's server."""
    alice, bob, mallory = users("alice"), users("bob"), users("mallory")
    mine = alice.start_kernel("gw-local")["id"]
    theirs = bob.start_kernel("gw-ssh")["id"]
    with WSKernel(alice, mine) as ws:
        assert ws.execute(WHO)["stdout"].split()[0] == "alice"
    with WSKernel(bob, theirs) as ws:
        user, host, _ = ws.execute(WHO)["stdout"].split()
    assert user == "robert"  # kernel_user_mapping on the gateway: bob -> robert
    assert host in where(bed, "ssh")
    assert [m["kernel_id"] for m in alice.get("/api/remote-kernels")] == [mine]
    assert [m["kernel_id"] for m in bob.get("/api/remote-kernels")] == [theirs]
    assert alice.request("GET", f"/api/remote-kernels/{theirs}").status_code == 404

    for spec in ("gw-local", "gw-ssh"):
        response = mallory.request("POST", "/api/kernels", {"name": spec}, timeout=60)
        assert response.status_code == 403, response.text
        assert "'mallory' may not start" in response.json()["message"]
        # As the lab starts a kernel: a session; the same status and message.
        body = {"path": f"{spec}.ipynb", "type": "notebook", "kernel": {"name": spec}}
        response = mallory.request("POST", "/api/sessions", body, timeout=60)
        assert response.status_code == 403, response.text
        assert "'mallory' may not start" in response.json()["message"]
        assert "%s" not in response.json()["message"]
    assert sorted(m["id"] for m in gateway.request("GET", "/api/kernels").json()) == sorted(
        [mine, theirs]
    )
    assert mallory.get("/api/remote-kernels") == []


def test_a_plain_users_server_through_the_gateway(users, gateway, bed):
    """Without this extension on the user's server: Jupyter Server's gateway client alone;
    the kernel model still carries where the gateway placed it."""
    carol = users("carol", extension=False)
    model = carol.start_kernel("gw-ssh")
    assert model["placement"]["kind"] == "ssh"
    assert carol.request("GET", "/api/remote-kernels").status_code == 404
    with WSKernel(carol, model["id"]) as ws:
        assert ws.execute(WHO)["stdout"].split()[0] == "carol"
    response = carol.request("DELETE", f"/api/kernels/{model['id']}", timeout=REQUEST_TIMEOUT)
    assert response.status_code == 204
    assert wait_for(lambda: not kernel_processes(model["id"], bed), 10)


def test_gateway_unreachable_or_without_this_extension(tmp_path):
    """A gateway that is down: a clear 503, in about the configured timeout. A gateway
    without this extension (a plain Jupyter Server): the kernels, placement unknown."""
    down = UserServer(
        tmp_path / "down",
        "dave",
        f"http://127.0.0.1:{free_port()}",
        extra_args=["--GatewayPlacementClient.request_timeout=3"],
    )
    try:
        down.start()
        began = time.monotonic()
        response = down.request("GET", "/api/remote-kernels")
        assert response.status_code == 503, response.text
        assert "cannot be reached" in response.json()["message"]
        assert "--gateway-url" in response.json()["message"]
        assert time.monotonic() - began < 10
    finally:
        down.stop()

    plain = ServerProcess(tmp_path / "plain", token="plain-token")
    plain.extension = False
    (tmp_path / "plain").mkdir()
    try:
        plain.start(START_TIMEOUT)
        erin = UserServer(tmp_path / "erin", "erin", plain.url, gateway_token="plain-token")
        try:
            erin.start()
            kernel_id = erin.start_kernel("python3")["id"]
            assert erin.get("/api/remote-kernels") == [
                {"kernel_id": kernel_id, "kernel_name": "python3", "display_name": "python3",
                 "placement": None}
            ]
            assert erin.get("/api/remote-kernels/pools") == []
        finally:
            erin.stop()
    finally:
        plain.stop()
