"""gateway_provisioners' kernelspecs and its real launcher, on the SSH test hosts.

GP is not importable by the server under test (see tests/gp.py): its kernelspecs, written
by GP's own ``jupyter-ssh-spec install``, are placed by this package's ssh provisioner, and
GP's ``launch_ipykernel.py`` (the installed package's file) runs on the hosts with
``ResponseListener.allow_legacy_launchers``. Restart and delete are timed against this
package's launcher on the same hosts in the same test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from jupyter_client.kernelspec import KernelSpec
from tornado.httpclient import HTTPClientError

from jupyter_remote_kernels.kernelspecs import translate_kernelspec
from jupyter_remote_kernels.yarn import YarnProvisioner

from ..gp import RATIO, SLACK, gp_dir, install_spec
from ..kernels import KernelSession, wait_until, write_kernelspec
from ..kernels import cli as run_cli
from ..server_process import ServerProcess
from ..ssh_helpers import REMOTE_PYTHON, kernel_pids, post_kernel, ssh_spec


def bed_ssh_config(bed) -> dict:
    """What an admin sets once in jupyter_server_config.py for the hosts (not per spec)."""
    return {
        "remote_user": bed.user,
        "remote_port": bed.hosts[0].port,
        "ssh_key_file": str(bed.client_key_path),
        "allow_agent": False,
        "known_hosts_file": str(bed.known_hosts_path),
        "python": REMOTE_PYTHON,
    }


def gp_ssh_spec(tmp_path, bed, name: str = "gp_ssh", hosts=None) -> dict:
    """A kernelspec made by GP's jupyter-ssh-spec for the bed's hosts.

    The one addition: the hosts get GP's folder (its pycryptodomex) on the launcher's
    PYTHONPATH through the spec's env, as an admin gives hosts a package.
    """
    folder = gp_dir()
    hosts = bed.hosts if hosts is None else hosts
    options = [arg for h in hosts for arg in ("--remote-hosts", h.address)]
    spec_dir = install_spec(folder, "ssh", tmp_path / "gp", name, *options)
    spec = json.loads((spec_dir / "kernel.json").read_text())
    assert spec["metadata"]["kernel_provisioner"]["provisioner_name"] == "distributed-provisioner"
    assert spec["metadata"]["kernel_provisioner"]["config"]["remote_hosts"] == [
        h.address for h in hosts
    ]
    spec["env"] = dict(spec.get("env") or {}, PYTHONPATH=str(folder))
    return spec


def gp_launchers(host) -> list[int]:
    return [pid for pid, cmd in kernel_pids(host) if "scripts/launch_ipykernel.py" in cmd]


async def restart_and_delete(jp_fetch, jp_ws_fetch, kernel_id: str, host) -> dict[str, float]:
    """Seconds a restart and a delete take, each until the REST call has answered *and*
    the processes it ended are gone from the host."""
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("x = 1; print(x)"))["stdout"] == "1\n"
    session.close()
    before = {pid for pid, _ in kernel_pids(host)}
    assert before
    began = time.monotonic()
    await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
    assert await wait_until(lambda: not before & {p for p, _ in kernel_pids(host)}, 10, 0.02)
    restart = time.monotonic() - began
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute("print('x' in dir())")
    assert reply["stdout"] == "False\n"  # a new kernel process
    # An interrupt after the restart interrupts (it does not stop the kernel).
    msg_id = await session.send_execute("import time; time.sleep(60)")
    await session.wait_started(msg_id)
    await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
    assert (await session.wait_reply(msg_id, timeout=20))["ename"] == "KeyboardInterrupt"
    assert (await session.execute("print('alive')"))["stdout"] == "alive\n"
    session.close()
    began = time.monotonic()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert await wait_until(lambda: not kernel_pids(host), 10, 0.02), kernel_pids(host)
    delete = time.monotonic() - began
    return {"restart": round(restart, 3), "delete": round(delete, 3)}


class TestGPLauncherOnSSHHosts:
    @pytest.fixture
    def jp_server_config(self, ssh_bed):
        return {
            "ServerApp": {"jpserver_extensions": {"jupyter_remote_kernels": True}},
            "ResponseListener": {"allow_legacy_launchers": True},
            "SSHProvisioner": bed_ssh_config(ssh_bed),
        }

    async def test_gp_spec_and_launcher_lifecycle(
        self, jp_fetch, jp_ws_fetch, jp_kernel_dir, ssh_bed, tmp_path, no_blocking
    ):
        host = ssh_bed.hosts[0]
        write_kernelspec(jp_kernel_dir, "gp_ssh", gp_ssh_spec(tmp_path, ssh_bed, hosts=[host]))
        write_kernelspec(jp_kernel_dir, "ours", ssh_spec(ssh_bed, hosts=[host]))
        assert not kernel_pids(host)

        model = await post_kernel(jp_fetch, "gp_ssh")
        kernel_id = model["id"]
        placement = model["placement"]
        assert placement["kind"] == "ssh"
        assert placement["provisioner"] == "jrk-ssh-provisioner"
        assert placement["phase"] == "ready"
        assert len(gp_launchers(host)) == 2  # GP's launcher *is* the kernel, + its listener
        session = await KernelSession.open(jp_ws_fetch, kernel_id)
        reply = await session.execute("import socket; print(socket.gethostname())")
        assert reply["stdout"].strip() == host.hostname
        msg_id = await session.send_execute("import time; time.sleep(60)")
        await session.wait_started(msg_id)
        await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
        assert (await session.wait_reply(msg_id, timeout=20))["ename"] == "KeyboardInterrupt"
        session.close()
        legacy = await restart_and_delete(jp_fetch, jp_ws_fetch, kernel_id, host)

        model = await post_kernel(jp_fetch, "ours")
        ours = await restart_and_delete(jp_fetch, jp_ws_fetch, model["id"], host)
        print(f"restart/delete s: GP launcher {legacy}, ours {ours}")
        for step in ("restart", "delete"):
            assert legacy[step] <= RATIO * ours[step] + SLACK, (step, legacy, ours)

    async def test_migrated_gp_spec_and_same_host_name(
        self, jp_fetch, jp_ws_fetch, jp_kernel_dir, ssh_bed, tmp_path
    ):
        """``migrate`` rewrites a GP-written spec; ``host`` is the same for both kernels."""
        host = ssh_bed.hosts[1]
        spec = gp_ssh_spec(tmp_path, ssh_bed, hosts=[host])
        write_kernelspec(jp_kernel_dir, "gp_legacy", spec)
        write_kernelspec(jp_kernel_dir, "gp_migrated", spec)
        env = dict(os.environ, JUPYTER_PATH=str(jp_kernel_dir.parent))
        dry = run_cli("migrate", "--dry-run", "gp_migrated", env=env)
        assert dry.returncode == 0, dry.stderr
        assert "provisioner_name distributed-provisioner -> jrk-ssh-provisioner" in dry.stdout
        diff = {line[0] + line[1:].strip() for line in dry.stdout.splitlines() if line}
        assert '-"provisioner_name": "distributed-provisioner",' in diff
        assert '+"provisioner_name": "jrk-ssh-provisioner",' in diff
        assert '+"{launcher}",' in diff
        assert '-"{public_key}",' in diff
        assert json.loads((jp_kernel_dir / "gp_migrated" / "kernel.json").read_text()) == dict(
            json.loads((jp_kernel_dir / "gp_legacy" / "kernel.json").read_text())
        )  # a dry run writes nothing
        done = run_cli("migrate", "gp_migrated", env=env)
        assert done.returncode == 0, done.stderr
        migrated = json.loads((jp_kernel_dir / "gp_migrated" / "kernel.json").read_text())
        assert migrated["argv"][:2] == ["python", "{launcher}"]
        assert not {"--public-key", "{public_key}", "--transport-encryption"} & set(
            migrated["argv"]
        )
        assert migrated["metadata"]["kernel_provisioner"] == {
            "provisioner_name": "jrk-ssh-provisioner",
            "config": spec["metadata"]["kernel_provisioner"]["config"],
        }
        # Both are listed for JupyterLab's launcher although GP's provisioner is missing.
        specs = json.loads((await jp_fetch("api", "kernelspecs")).body)["kernelspecs"]
        assert {"gp_legacy", "gp_migrated"} <= set(specs)
        ids = []
        for name in ("gp_legacy", "gp_migrated"):
            model = await post_kernel(jp_fetch, name)
            ids.append(model["id"])
            session = await KernelSession.open(jp_ws_fetch, model["id"])
            reply = await session.execute("import socket; print(socket.gethostname())")
            assert reply["stdout"].strip() == host.hostname
            session.close()
        assert len(gp_launchers(host)) == 2  # only the legacy kernel runs GP's launcher
        listed = json.loads((await jp_fetch("api", "remote-kernels")).body)
        placements = {k["kernel_id"]: k["placement"] for k in listed}
        # The configured name (the remote_hosts entry) for both, the host's own name beside
        # it where the launcher reports it (ours does, GP's does not).
        assert [placements[i]["host"] for i in ids] == [host.address, host.address]
        assert placements[ids[1]]["detail"] == f"hostname {host.hostname}"
        for kernel_id in ids:
            await jp_fetch("api", "kernels", kernel_id, method="DELETE")
        assert await wait_until(lambda: not kernel_pids(host), 5), kernel_pids(host)


def test_server_stop_ends_gp_launchers_on_the_hosts(tmp_path, ssh_bed_factory):
    """A real server stopped with SIGTERM leaves no GP launcher, kernel or listener."""
    bed = ssh_bed_factory(2)
    write_kernelspec(tmp_path / "data" / "kernels", "gp_ssh", gp_ssh_spec(tmp_path, bed))
    options = [f"--SSHProvisioner.{k}={v}" for k, v in bed_ssh_config(bed).items()]
    server = ServerProcess(
        tmp_path,
        token="gp-stop-token",
        extra_args=["--ResponseListener.allow_legacy_launchers=True", *options],
    ).start()
    try:
        for _ in range(2):
            r = server.request("POST", "/api/kernels", {"name": "gp_ssh"})
            assert r.status_code == 201, r.text
        # round-robin: one kernel on each host, each GP's launcher and its listener
        assert [len(gp_launchers(h)) for h in bed.hosts] == [2, 2]
        server.stop(signal.SIGTERM, timeout=30)
        assert server.process.returncode is not None
        deadline = time.monotonic() + 5
        while any(kernel_pids(h) for h in bed.hosts) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(kernel_pids(h) for h in bed.hosts), [kernel_pids(h) for h in bed.hosts]
    finally:
        server.stop(signal.SIGKILL, timeout=10)


DEFER_PROBE = """
import json, sys
from jupyter_client.kernelspec import KernelSpec
from jupyter_remote_kernels.kernelspecs import translate_kernelspec
spec = KernelSpec(resource_dir=sys.argv[1], **json.load(open(sys.argv[1] + "/kernel.json")))
for defer in (False, True):
    out = translate_kernelspec("gp_ssh", spec, defer).metadata["kernel_provisioner"]
    print(defer, out["provisioner_name"], sorted(out["config"]))
"""


@pytest.mark.parametrize("gp_importable", [False, True])
def test_defer_to_gateway_provisioners(tmp_path, gp_importable):
    """GP's specs go to GP only when the admin says so and GP is installed."""
    folder = gp_dir()
    spec_dir = install_spec(folder, "ssh", tmp_path / "gp", "gp_ssh", "--remote-hosts", "h1")
    paths = [os.environ.get("PYTHONPATH", "")] + ([str(folder)] if gp_importable else [])
    path = os.pathsep.join(p for p in paths if p)
    out = subprocess.run(
        [sys.executable, "-c", DEFER_PROBE, str(spec_dir)],
        env=dict(os.environ, PYTHONPATH=path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    ours = "jrk-ssh-provisioner ['launch_timeout', 'remote_hosts']"
    gp = "distributed-provisioner ['launch_timeout', 'remote_hosts']"
    assert out == [f"False {ours}", f"True {gp if gp_importable else ours}"]


GP_YARN_CONFIG = {
    "yarn_endpoint": "http://rm1:8088/ws/v1/cluster",
    "alt_yarn_endpoint": "http://rm2:8088/ws/v1/cluster",
    "yarn_endpoint_security_enabled": True,
    "launch_timeout": 30,
    "port_range": "40000..41000",
    "authorized_users": ["alice"],
}


def test_gp_config_keys_carried_over_or_renamed(monkeypatch):
    """GP's config keys as this package's traits (the README's migration guide)."""

    def translated(name, config):
        spec = KernelSpec(
            argv=["run.sh", "{kernel_id}"],
            metadata={"kernel_provisioner": {"provisioner_name": name, "config": config}},
        )
        return translate_kernelspec("gp", spec).metadata["kernel_provisioner"]

    yarn = translated("yarn-provisioner", GP_YARN_CONFIG)
    assert yarn["provisioner_name"] == "jrk-yarn-provisioner"
    assert yarn["config"] == {
        **{k: v for k, v in GP_YARN_CONFIG.items() if k != "alt_yarn_endpoint"},
        "alt_yarn_endpoints": ["http://rm2:8088/ws/v1/cluster"],
    }
    ssh = translated(
        "distributed-provisioner",
        {"remote_hosts": ["h1", "h2"], "load_balancing_algorithm": "least-connection"},
    )
    assert ssh == {
        "provisioner_name": "jrk-ssh-provisioner",
        "config": {"remote_hosts": ["h1", "h2"], "load_balancing": "least-loaded"},
    }
    # The server-side environment variables GP users set for the RM carry over.
    monkeypatch.delenv("EG_YARN_ENDPOINT", raising=False)
    monkeypatch.delenv("EG_ALT_YARN_ENDPOINT", raising=False)
    monkeypatch.setenv("GP_YARN_ENDPOINT", "http://rm1:8088")
    monkeypatch.setenv("GP_ALT_YARN_ENDPOINT", "http://rm2:8088")
    provisioner = YarnProvisioner()
    assert provisioner.yarn_endpoint == "http://rm1:8088"
    assert provisioner.alt_yarn_endpoints == ["http://rm2:8088"]


async def test_gp_impersonation_refused_with_the_reason(jp_fetch, jp_kernel_dir):
    write_kernelspec(
        jp_kernel_dir,
        "gp_imp",
        {
            "argv": ["run.sh", "--kernel-id", "{kernel_id}"],
            "metadata": {
                "kernel_provisioner": {
                    "provisioner_name": "yarn-provisioner",
                    "config": {"yarn_endpoint": "http://rm1:8088", "impersonation_enabled": True},
                }
            },
        },
    )
    with pytest.raises(HTTPClientError) as info:
        await post_kernel(jp_fetch, "gp_imp")
    assert info.value.code == 400
    message = json.loads(info.value.response.body)["message"]
    assert "'metadata.kernel_provisioner.config.impersonation_enabled' is not supported" in message
    assert "kernel_user_mapping" in message
