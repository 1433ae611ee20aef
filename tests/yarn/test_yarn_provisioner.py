"""YARN kernels through a real Jupyter Server and the RM emulator (real AM processes)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import re
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tornado.httpclient import HTTPClientError

from jupyter_remote_kernels.yarn.poller import pollers_of

from ..kernels import KernelSession, pids_mentioning, wait_until
from ..server_process import ServerProcess
from ..yarn_helpers import POLL, WS, app_of, install_yarn_spec, start, submitter_script


async def test_lifecycle(yarn_rm, jp_fetch, jp_ws_fetch, kernels_dir, tmp_path, no_blocking):
    await asyncio.to_thread(
        install_yarn_spec, kernels_dir, "yarn-py", yarn_rm.url, submitter_script(tmp_path)
    )
    model = await start(jp_fetch, "yarn-py")
    kernel_id = model["id"]
    placement = model["placement"]
    print(placement)
    assert placement["kind"] == "yarn"
    assert placement["phase"] == "ready"
    app_id = placement["app_id"]
    assert app_id and placement["queue"] == "root.default" and placement["ip"] == "127.0.0.1"
    assert app_of(yarn_rm, app_id)["state"] == "RUNNING"

    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute("import os; print(os.environ['CONTAINER_ID'])")
    assert reply["status"] == "ok", reply
    assert app_id.replace("application", "container") in reply["stdout"]

    t0 = time.monotonic()
    response = await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    print("delete", time.monotonic() - t0)
    assert response.code == 204
    assert app_of(yarn_rm, app_id)["state"] == "KILLED"
    assert await wait_until(lambda: not pids_mentioning(kernel_id), timeout=5)
    assert yarn_rm.cluster.live_pids() == []


async def placement_of(jp_fetch, kernel_id=None):
    response = await jp_fetch("api", "remote-kernels", method="GET")
    models = json.loads(response.body)
    return [m for m in models if kernel_id is None or m["kernel_id"] == kernel_id]


async def test_restart_and_interrupt(yarn_rm, jp_fetch, jp_ws_fetch, kernels_dir, tmp_path):
    await asyncio.to_thread(
        install_yarn_spec, kernels_dir, "yarn-py", yarn_rm.url, submitter_script(tmp_path)
    )
    model = await start(jp_fetch, "yarn-py")
    kernel_id, first_app = model["id"], model["placement"]["app_id"]
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("x = 6 * 7; print(x)"))["stdout"] == "42\n"
    msg_id = await session.send_execute("import time; time.sleep(60)")
    await session.wait_started(msg_id)
    await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
    reply = await session.wait_reply(msg_id, timeout=20)
    assert reply["ename"] == "KeyboardInterrupt"
    session.close()

    t0 = time.monotonic()
    await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
    print("restart took", time.monotonic() - t0)
    assert app_of(yarn_rm, first_app)["state"] == "KILLED"
    model = json.loads((await jp_fetch("api", "kernels", kernel_id, method="GET")).body)
    second_app = model["placement"]["app_id"]
    assert second_app != first_app
    assert model["placement"]["phase"] == "ready"
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("print('x' in dir())"))["stdout"] == "False\n"
    session.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert app_of(yarn_rm, second_app)["state"] == "KILLED"
    assert await wait_until(lambda: not pids_mentioning(kernel_id), timeout=5)


async def test_queue_full_is_reported_and_killed(yarn_rm_factory, jp_fetch, kernels_dir, tmp_path):
    rm = yarn_rm_factory(queues={"default": None, "small": 0})
    await asyncio.to_thread(
        install_yarn_spec,
        kernels_dir,
        "yarn-small",
        rm.url,
        submitter_script(tmp_path),
        yarn_queue="small",
        launch_timeout=4,
    )
    task = asyncio.ensure_future(start(jp_fetch, "yarn-small"))
    seen = []
    while not task.done():
        seen += [m["placement"] for m in await placement_of(jp_fetch)]
        await asyncio.sleep(0.2)
    queued = [p for p in seen if p["phase"] == "queued"]
    assert queued, seen
    assert "AM resource limit" in queued[-1]["detail"]
    assert queued[-1]["queue"] == "root.small" and queued[-1]["state"] == "ACCEPTED"
    with pytest.raises(HTTPClientError) as info:
        await task
    assert info.value.code == 504
    message = json.loads(info.value.response.body)["message"]
    print(message)
    assert "queue 'root.small'" in message and "queue is full" in message
    assert "Traceback" not in message
    app_id = queued[-1]["app_id"]
    assert app_of(rm, app_id)["state"] == "KILLED"
    assert rm.cluster.live_pids() == []
    assert await placement_of(jp_fetch) == []


async def test_am_failing_at_start(yarn_rm, jp_fetch, kernels_dir, tmp_path):
    """An AM that exits at once: clear error with YARN's diagnostics, one attempt only.

    (With more attempts allowed YARN retries by itself before any poll can see the first
    failure; the provisioner never resubmits.)"""
    spec = await asyncio.to_thread(
        install_yarn_spec, kernels_dir, "yarn-bad", yarn_rm.url, submitter_script(tmp_path)
    )
    argv = spec["argv"]
    assert argv[argv.index("--max-app-attempts") + 1] == "1"  # the template's: no YARN retry
    argv[argv.index("--") + 1] = "/bin/false"
    (kernels_dir / "yarn-bad" / "kernel.json").write_text(json.dumps(spec))
    yarn_rm.reset_counts()
    with pytest.raises(HTTPClientError) as info:
        await start(jp_fetch, "yarn-bad")
    assert info.value.code == 500
    message = json.loads(info.value.response.body)["message"]
    print(message)
    assert "AM exit code 1" in message and "YARN diagnostics" in message
    app_id = re.search(r"application_\d+_\d+", message).group(0)
    app = yarn_rm.app(app_id)
    assert len(app.attempts) == 1
    assert app.state in ("KILLED", "FAILED")
    assert yarn_rm.cluster.live_pids() == []
    assert yarn_rm.count("POST", WS + "/apps") == 1  # no resubmission


async def test_discovery_by_tag_ignores_names_and_string_order(
    yarn_rm_factory, jp_fetch, kernels_dir, tmp_path
):
    """Decoys named after the kernel, a renamed real app, ids crossing 9999."""
    rm = yarn_rm_factory(start_seq=9998, app_order="random")
    decoy = (
        f'{sys.executable} -m testing.yarn_emulator.submit --rm "$2" --name "$KERNEL_ID" '
        "--tag other -- sleep 60 >/dev/null\n"
    )
    script = submitter_script(tmp_path, decoy)
    spec = await asyncio.to_thread(install_yarn_spec, kernels_dir, "yarn-tag", rm.url, script)
    argv = spec["argv"]
    argv[argv.index("--name") + 1] = "renamed-by-user"
    (kernels_dir / "yarn-tag" / "kernel.json").write_text(json.dumps(spec))
    model = await start(jp_fetch, "yarn-tag")
    kernel_id, app_id = model["id"], model["placement"]["app_id"]
    assert app_id.endswith("_10000") or app_id.endswith("_9999")
    app = app_of(rm, app_id)
    assert kernel_id in app["applicationTags"].split(",")
    assert app["name"] == "renamed-by-user"
    decoys = [a for a in rm.cluster.apps.values() if a.name == kernel_id]
    assert len(decoys) == 1 and decoys[0].app_id != app_id
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert app_of(rm, app_id)["state"] == "KILLED"
    assert app_of(rm, decoys[0].app_id)["state"] == "RUNNING"  # not ours: left alone


async def test_eg_spec_ha_failover(
    yarn_ha, jp_fetch, jp_ws_fetch, kernels_dir, tmp_path, jp_serverapp
):
    """EG class name and keys; the standby listed first; a failover while the kernel runs."""
    spec = await asyncio.to_thread(
        install_yarn_spec,
        kernels_dir,
        "yarn-eg",
        yarn_ha.standby.url,
        submitter_script(tmp_path),
    )
    stanza = spec["metadata"]["process_proxy"]
    stanza["class_name"] = "enterprise_gateway.services.processproxies.yarn.YarnClusterProcessProxy"
    stanza["config"] = {
        "yarn_endpoint": yarn_ha.standby.url + "/ws/v1/cluster",
        "alt_yarn_endpoint": yarn_ha.active.url + "/ws/v1/cluster",
        "yarn_poll_interval": POLL,
    }
    (kernels_dir / "yarn-eg" / "kernel.json").write_text(json.dumps(spec))
    model = await start(jp_fetch, "yarn-eg")
    kernel_id, app_id = model["id"], model["placement"]["app_id"]
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("print(1 + 1)"))["stdout"] == "2\n"

    old_active = yarn_ha.active
    yarn_ha.failover()
    new_active = yarn_ha.active
    assert new_active is not old_active
    # The placement's RUNNING is the poller's cache, which a broken poll leaves as it was:
    # what shows the failover worked is the new active RM answering the polls since.
    poller = pollers_of(jp_serverapp.kernel_manager.services).all()[0]
    answered, rounds = new_active.count("GET", WS + "/apps"), poller.rounds
    assert await wait_until(
        lambda: (
            new_active.count("GET", WS + "/apps") >= answered + 3 and poller.rounds >= rounds + 3
        ),
        timeout=20,
    )
    assert poller.last_error is None
    assert poller.client.active == new_active.url
    assert (await session.execute("print(2 + 2)"))["stdout"] == "4\n"
    [model] = await placement_of(jp_fetch, kernel_id)
    assert model["placement"]["phase"] == "ready"
    assert model["placement"]["state"] == "RUNNING"
    session.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert app_of(yarn_ha.active, app_id)["state"] == "KILLED"
    assert yarn_ha.cluster.live_pids() == []
    assert await wait_until(lambda: not pids_mentioning(kernel_id), timeout=5)


@pytest.mark.timeout(900)
async def test_one_rm_request_per_interval_for_50_kernels(
    yarn_rm, jp_fetch, jp_serverapp, kernels_dir, tmp_path
):
    """50 real YARN kernels (50 applications, 50 ipykernels): one GET /apps per interval."""
    await asyncio.to_thread(
        install_yarn_spec, kernels_dir, "yarn-py", yarn_rm.url, submitter_script(tmp_path)
    )
    kernels = []
    for _ in range(5):
        kernels += await asyncio.gather(*(start(jp_fetch, "yarn-py") for _ in range(10)))
    assert len({m["placement"]["app_id"] for m in kernels}) == 50
    pollers = pollers_of(jp_serverapp.kernel_manager.services).all()
    assert len(pollers) == 1
    poller = pollers[0]
    assert len(poller.watched) == 50
    await asyncio.sleep(2 * POLL)
    yarn_rm.reset_counts()
    rounds = poller.rounds
    await asyncio.sleep(10 * POLL)
    rounds = poller.rounds - rounds
    lists = yarn_rm.count("GET", WS + "/apps")
    print(f"{rounds} poll rounds, {lists} GET /apps, {sum(yarn_rm.counts.values())} requests")
    assert 8 <= rounds <= 12
    assert lists in (rounds, rounds + 1)
    assert sum(yarn_rm.counts.values()) == lists  # nothing per kernel
    for batch in range(0, 50, 10):
        await asyncio.gather(
            *(
                jp_fetch("api", "kernels", m["id"], method="DELETE")
                for m in kernels[batch : batch + 10]
            )
        )
    assert all(app_of(yarn_rm, m["placement"]["app_id"])["state"] == "KILLED" for m in kernels)
    assert await wait_until(lambda: not yarn_rm.cluster.live_pids(), timeout=30)


async def test_kerberos_without_extra_is_a_clear_error(
    yarn_rm, jp_fetch, kernels_dir, tmp_path, monkeypatch
):
    # The kerberos extra is installed for the tests (test_kerberos.py): hide it.
    monkeypatch.setitem(sys.modules, "requests_kerberos", None)
    await asyncio.to_thread(
        install_yarn_spec,
        kernels_dir,
        "yarn-krb",
        yarn_rm.url,
        submitter_script(tmp_path),
        yarn_auth="kerberos",
        launch_timeout=5,
    )
    with pytest.raises(HTTPClientError) as info:
        await start(jp_fetch, "yarn-krb")
    message = json.loads(info.value.response.body)["message"]
    assert "pip install 'jupyter_remote_kernels[kerberos]'" in message
    assert yarn_rm.cluster.live_pids() == []


def test_server_stop_kills_a_queued_application(yarn_rm_factory, tmp_path):
    """A launch still ACCEPTED when the server stops: its application is killed (EG #719)."""

    rm = yarn_rm_factory(queues={"default": 0})
    server = ServerProcess(tmp_path)
    install_yarn_spec(
        tmp_path / "data" / "kernels",
        "yarn-q",
        rm.url,
        submitter_script(tmp_path),
        launch_timeout=120,
    )
    server.start()
    try:
        start_thread = threading.Thread(
            target=lambda: server.request("POST", "/api/kernels", {"name": "yarn-q"}),
            daemon=True,
        )
        start_thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            apps = [a for a in rm.cluster.apps.values() if a.state == "ACCEPTED"]
            models = server.request("GET", "/api/remote-kernels").json()
            if apps and models and models[0]["placement"]["phase"] == "queued":
                break
            time.sleep(0.2)
        assert apps and models[0]["placement"]["phase"] == "queued", models
        server.stop()
        start_thread.join(10)
    finally:
        server.stop()
    assert [a.state for a in rm.cluster.apps.values()] == ["KILLED"]
    assert rm.cluster.live_pids() == []


WEIRD = 'a "quoted" $HOME `id` \\back slash'


async def test_kernel_values_reach_the_container_unchanged(
    yarn_rm, jp_fetch, jp_ws_fetch, kernels_dir, tmp_path
):
    """The container's launch script (`export NAME="VALUE"`, as a NodeManager writes it)
    would mangle `"`, `$`, backquotes and backslashes: the bundle carries KERNEL_* values
    base64url-encoded past it. Also proved on the real cluster (test_yarn_real)."""
    await asyncio.to_thread(
        install_yarn_spec, kernels_dir, "yarn-py", yarn_rm.url, submitter_script(tmp_path)
    )
    body = {"name": "yarn-py", "env": {"KERNEL_WEIRD": WEIRD}}
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps(body))
    kernel_id = json.loads(response.body)["id"]
    script = next(Path(yarn_rm.cluster.work_dir).rglob("launch_container.sh")).read_text()
    assert "export JRK_LAUNCH_BUNDLE=" in script  # it did go through the script
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute("import os; print(repr(os.environ['KERNEL_WEIRD']))")
    assert reply["stdout"].strip() == repr(WEIRD)
    session.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert await wait_until(lambda: not pids_mentioning(kernel_id), timeout=5)


def self_signed_certificate(folder: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 (and its key), signed by itself: (cert, key) paths."""

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jrk test RM")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "rm-cert.pem", folder / "rm-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


async def test_https_rm_verified_with_yarn_ca_bundle(
    yarn_rm_factory, jp_fetch, kernels_dir, tmp_path
):
    """An https RM whose certificate no public CA signed: yarn_ca_bundle (GP's
    GP_YARN_CERT_BUNDLE) makes it trusted; without it the start fails saying why."""
    cert, key = self_signed_certificate(tmp_path)
    rm = yarn_rm_factory(tls_cert=cert, tls_key=key)
    assert rm.url.startswith("https://")
    submitter = submitter_script(tmp_path)
    for name, config in (("trusted", {"yarn_ca_bundle": cert}), ("untrusted", {})):
        spec = await asyncio.to_thread(
            install_yarn_spec, kernels_dir, name, rm.url, submitter, **config
        )
        spec["env"] = {"SSL_CERT_FILE": cert}  # for the submit stand-in (urllib)
        (kernels_dir / name / "kernel.json").write_text(json.dumps(spec))
    model = await start(jp_fetch, "trusted")
    assert model["placement"]["phase"] == "ready"
    assert app_of_https(rm, model["placement"]["app_id"], cert)["state"] == "RUNNING"
    await jp_fetch("api", "kernels", model["id"], method="DELETE")
    assert app_of_https(rm, model["placement"]["app_id"], cert)["state"] == "KILLED"

    with pytest.raises(HTTPClientError) as failed:
        await start(jp_fetch, "untrusted")
    message = failed.value.response.body.decode()
    assert "CERTIFICATE_VERIFY_FAILED" in message or "certificate verify" in message, message
    assert rm.cluster.apps == {} or all(
        a.state in ("FINISHED", "FAILED", "KILLED") for a in rm.cluster.apps.values()
    )


def app_of_https(rm, app_id: str, cert: str) -> dict:
    return requests.get(f"{rm.url}{WS}/apps/{app_id}", timeout=5, verify=cert).json()["app"]
