"""Bad SSH hosts are skipped; with none working the user gets one clear error; nothing stays."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_remote_kernels.paths import launcher_files

from ..kernels import KernelSession, wait_until, write_kernelspec
from ..ssh_helpers import (
    connections_within_pool,
    kernel_pids,
    nothing_left,
    post_kernel,
    server_pool,
    ssh_spec,
)


@pytest.fixture
def bad_bed(ssh_bed_factory):
    bed = ssh_bed_factory(1, extra_hosts=("refuse_key", "no_python", "down"))
    good, refusing, no_python, down = bed.hosts
    return bed, good, refusing, no_python, down


async def test_bad_hosts_are_skipped_then_one_clear_error(
    jp_fetch, jp_kernel_dir, bad_bed, no_blocking, jp_serverapp
):
    bed, good, refusing, no_python, down = bad_bed
    order = [down, refusing, no_python, good]
    write_kernelspec(
        jp_kernel_dir,
        "ssh-mixed",
        # "python3" as the hosts' shells find it: the no_python host has none
        ssh_spec(
            bed, hosts=order, load_balancing="first-available", connect_timeout=3, python="python3"
        ),
    )
    model = await post_kernel(jp_fetch, "ssh-mixed")
    assert model["placement"]["ip"] == good.address
    await jp_fetch("api", "kernels", model["id"], method="DELETE")

    write_kernelspec(
        jp_kernel_dir,
        "ssh-bad",
        ssh_spec(
            bed,
            hosts=order[:3],
            load_balancing="first-available",
            connect_timeout=3,
            launch_timeout=15,
            python="python3",
        ),
    )
    started = time.monotonic()
    with pytest.raises(HTTPClientError) as info:
        await post_kernel(jp_fetch, "ssh-bad")
    assert time.monotonic() - started < 15
    message = info.value.response.body.decode()
    assert "could not start on any host" in message
    assert "Traceback" not in message
    for host in order[:3]:
        assert host.address in message
    assert "is the host up" in message or "cannot connect" in message  # down
    assert "was refused by" in message and "authorized_keys" in message  # refuse_key
    assert "no Python on" in message  # no_python
    assert await wait_until(lambda: nothing_left(bed), 5)
    assert connections_within_pool(bed, server_pool(jp_serverapp))


async def test_unknown_host_key_is_refused_with_the_fix(
    jp_fetch, jp_kernel_dir, ssh_bed, tmp_path, no_blocking
):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    write_kernelspec(jp_kernel_dir, "ssh-unknown", ssh_spec(ssh_bed, known_hosts_file=str(empty)))
    with pytest.raises(HTTPClientError) as info:
        await post_kernel(jp_fetch, "ssh-unknown")
    message = info.value.response.body.decode()
    assert "is unknown" in message and "ssh-keyscan" in message
    assert nothing_left(ssh_bed)


async def test_kernel_failing_on_the_host_leaves_nothing(
    jp_fetch, jp_kernel_dir, ssh_bed, tmp_path, no_blocking, jp_serverapp
):
    write_kernelspec(
        jp_kernel_dir,
        "ssh-broken",
        ssh_spec(ssh_bed, kernel_class_name="ipykernel.no_such_module.Kernel"),
    )
    with pytest.raises(HTTPClientError) as info:
        await post_kernel(jp_fetch, "ssh-broken")
    assert "no_such_module" in info.value.response.body.decode()
    assert await wait_until(lambda: nothing_left(ssh_bed), 5), [
        kernel_pids(h) for h in ssh_bed.hosts
    ]
    # a launch timed out while the launcher runs: it is stopped on its host
    # (the hosts share this file system: a sitecustomize makes the kernel start slowly)
    (tmp_path / "sitecustomize.py").write_text("import time; time.sleep(30)\n")
    spec = ssh_spec(ssh_bed, launch_timeout=3, env={"PYTHONPATH": str(tmp_path)})
    write_kernelspec(jp_kernel_dir, "ssh-slow", spec)
    with pytest.raises(HTTPClientError) as info:
        await post_kernel(jp_fetch, "ssh-slow")
    assert info.value.code == 504
    assert "did not call back within 3 s" in info.value.response.body.decode()
    assert await wait_until(lambda: nothing_left(ssh_bed), 8), [
        kernel_pids(h) for h in ssh_bed.hosts
    ]
    assert connections_within_pool(ssh_bed, server_pool(jp_serverapp))


async def test_the_launchers_modules_travel_with_it(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, ssh_bed, tmp_path, no_blocking
):
    """Sent over SSH, the launcher's sibling modules come with it (a same-named module on
    the host's PYTHONPATH does not shadow them); run from a path on the host, they must be
    beside it, and a copy without them fails with the fix."""
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    (decoy / "jrk_launcher_comm.py").write_text("raise SystemExit('the host copy was used')\n")
    host = ssh_bed.hosts[:1]
    write_kernelspec(
        jp_kernel_dir, "ssh-sent", ssh_spec(ssh_bed, hosts=host, env={"PYTHONPATH": str(decoy)})
    )
    on_host = tmp_path / "on-host"
    on_host.mkdir()
    main, *siblings = launcher_files("python")
    shutil.copy(main, on_host)
    spec = ssh_spec(ssh_bed, hosts=host, launch_timeout=20)
    spec["argv"] = [spec["argv"][0], str(on_host / main.name), *spec["argv"][2:]]
    write_kernelspec(jp_kernel_dir, "ssh-path", spec)

    with pytest.raises(HTTPClientError) as info:  # the main file alone
        await post_kernel(jp_fetch, "ssh-path")
    assert "cannot import its sibling module jrk_launcher_comm.py" in (
        info.value.response.body.decode()
    )
    for path in siblings:
        shutil.copy(path, on_host)
    for name in ("ssh-sent", "ssh-path"):
        model = await post_kernel(jp_fetch, name)
        session = await KernelSession.open(jp_ws_fetch, model["id"])
        assert (await session.execute("print(6 * 7)"))["stdout"] == "42\n"
        session.close()
        await jp_fetch("api", "kernels", model["id"], method="DELETE")
    assert sorted(p.name for p in on_host.iterdir()) == sorted(p.name for p in [main, *siblings])
    assert await wait_until(lambda: nothing_left(ssh_bed), 8)


def test_cli_install_ssh_and_check(tmp_path, ssh_bed_factory):

    bed = ssh_bed_factory(1, extra_hosts=("no_python",))
    good, no_python = bed.hosts
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path / "share" / "jupyter"))
    hosts = ",".join(h.address for h in bed.hosts)
    cli = [sys.executable, "-m", "jupyter_remote_kernels.cli"]
    proc = subprocess.run(
        [
            *cli,
            "install",
            "ssh",
            f"--hosts={hosts}",
            f"--user-name={bed.user}",
            "--python=python3",
            f"--prefix={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    spec = json.loads(
        (tmp_path / "share/jupyter/kernels/remote-python-ssh/kernel.json").read_text()
    )
    config = spec["metadata"]["process_proxy"]["config"]
    assert config["remote_hosts"] == [good.address, no_python.address]
    assert spec["argv"][0] == "python3"
    config.update(
        ssh_key_file=str(bed.client_key_path),
        allow_agent=False,
        known_hosts_file=str(bed.known_hosts_path),
    )
    (tmp_path / "share/jupyter/kernels/remote-python-ssh/kernel.json").write_text(json.dumps(spec))
    proc = subprocess.run(
        [*cli, "check", "remote-python-ssh"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    good_part, bad_part = out.split(no_python.address, 1)
    for check in ("ssh", "python", "ipykernel", "callback"):
        assert f"ok   {check}" in good_part
    assert "ok   ssh" in bad_part and "FAIL python" in bad_part
    assert "full path" in bad_part
