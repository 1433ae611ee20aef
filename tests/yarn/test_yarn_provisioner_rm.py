"""YARN kernels through a real Jupyter Server and the RM emulator (real AM processes): the
RM side: an EG spec's HA failover, one RM request per interval for many kernels, Kerberos
without its extra, kernel values reaching the container, an HTTPS RM."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import sys
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
from ..yarn_helpers import (
    POLL,
    WS,
    app_of,
    install_yarn_spec,
    placement_of,
    start,
    submitter_script,
)


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
    kernel_id, app_id = model["id"], model["placement"]["details"]["app_id"]
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
    assert len({m["placement"]["details"]["app_id"] for m in kernels}) == 50
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
    ids = [m["placement"]["details"]["app_id"] for m in kernels]
    assert all(app_of(yarn_rm, app_id)["state"] == "KILLED" for app_id in ids)
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
    assert app_of_https(rm, model["placement"]["details"]["app_id"], cert)["state"] == "RUNNING"
    await jp_fetch("api", "kernels", model["id"], method="DELETE")
    assert app_of_https(rm, model["placement"]["details"]["app_id"], cert)["state"] == "KILLED"

    with pytest.raises(HTTPClientError) as failed:
        await start(jp_fetch, "untrusted")
    message = failed.value.response.body.decode()
    assert "CERTIFICATE_VERIFY_FAILED" in message or "certificate verify" in message, message
    assert rm.cluster.apps == {} or all(
        a.state in ("FINISHED", "FAILED", "KILLED") for a in rm.cluster.apps.values()
    )


def app_of_https(rm, app_id: str, cert: str) -> dict:
    return requests.get(f"{rm.url}{WS}/apps/{app_id}", timeout=5, verify=cert).json()["app"]
