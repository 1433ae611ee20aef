"""Kerberos (SPNEGO) to the ResourceManager, against a real MIT KDC the tests start.

The RM emulator accepts only a SPNEGO token that GSSAPI verifies with its service keytab
(``HTTP/127.0.0.1@JRK.TEST``); the Jupyter Server under test holds a ticket for
``jupyter@JRK.TEST`` in a private ticket cache, as after ``kinit``. A YARN kernel starts
(the submitter authenticates with the same ticket, as spark-submit would), runs code and is
killed through that RM; with an expired ticket a start fails with an error saying to kinit.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest
import requests
from requests_kerberos import HTTPKerberosAuth
from tornado.httpclient import HTTPClientError

from ..kernels import KernelSession, pids_mentioning, wait_until
from ..yarn_helpers import WS, install_yarn_spec, start, submitter_script


def test_rm_accepts_only_a_valid_spnego_token(kerberized_rm):

    url = kerberized_rm.rm.url + WS + "/apps/new-application"
    # No token (simple auth's user.name is not enough): 401 asking for Negotiate.
    refused = requests.post(url, params={"user.name": "jupyter"}, timeout=10)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == "Negotiate"
    # A token that is no Kerberos token: refused by GSSAPI.
    junk = base64.b64encode(b"\x60\x82" + b"x" * 64).decode()
    forged = requests.post(url, headers={"Authorization": f"Negotiate {junk}"}, timeout=10)
    assert forged.status_code == 401 and "GSSException" in forged.text
    assert kerberized_rm.rm.spnego_refused == 1
    assert kerberized_rm.rm.cluster.apps == {} and kerberized_rm.rm.spnego_principals == []
    # A real one, made from the ticket cache.
    accepted = requests.post(url, auth=HTTPKerberosAuth(), timeout=10)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["application-id"].startswith("application_")
    assert kerberized_rm.rm.spnego_principals == [
        ("POST", WS + "/apps/new-application", kerberized_rm.user)
    ]


async def test_yarn_kernel_through_a_kerberos_rm(
    kerberized_rm, jp_fetch, jp_ws_fetch, kernels_dir, tmp_path
):
    rm = kerberized_rm.rm
    await asyncio.to_thread(
        install_yarn_spec,
        kernels_dir,
        "yarn-krb",
        rm.url,
        submitter_script(tmp_path),
        yarn_auth="kerberos",
        launch_timeout=60,
    )
    model = await start(jp_fetch, "yarn-krb")
    kernel_id, app_id = model["id"], model["placement"]["details"]["app_id"]
    assert model["placement"]["phase"] == "ready"
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("print(6 * 7)"))["stdout"] == "42\n"
    session.close()
    app = rm.app(app_id)
    assert app.user == "jupyter"  # the RM took the submitter from the Kerberos principal
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert rm.app(app_id).state == "KILLED"
    principals = rm.spnego_principals
    # The server's poll and kill, and the submitter's submission, all as jupyter@JRK.TEST.
    kills = [p for m, path, p in principals if m == "PUT" and path.endswith(app_id + "/state")]
    assert kills and set(kills) == {kerberized_rm.user}
    assert any(m == "GET" and path == WS + "/apps" for m, path, _ in principals)
    assert any(m == "POST" and path == WS + "/apps" for m, path, _ in principals)
    assert {p for _, _, p in principals} == {kerberized_rm.user}
    assert await wait_until(lambda: not pids_mentioning(kernel_id), timeout=10)
    assert rm.cluster.live_pids() == []


async def test_expired_ticket_is_a_clear_error(
    kerberized_rm, jp_fetch, kernels_dir, tmp_path, monkeypatch
):
    rm = kerberized_rm.rm
    short = kerberized_rm.folder / "short-ccache"
    await asyncio.to_thread(
        kerberized_rm.kdc.kinit, kerberized_rm.user, kerberized_rm.user_keytab, short, "3s"
    )
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{short}")
    await asyncio.sleep(4)  # the ticket has expired
    await asyncio.to_thread(
        install_yarn_spec,
        kernels_dir,
        "yarn-krb",
        rm.url,
        submitter_script(tmp_path),
        yarn_auth="kerberos",
        launch_timeout=20,
    )
    started = time.monotonic()
    with pytest.raises(HTTPClientError) as info:
        await start(jp_fetch, "yarn-krb")
    message = json.loads(info.value.response.body)["message"]
    print(info.value.code, message)
    assert time.monotonic() - started < 20
    assert "no valid Kerberos ticket (none, or it expired)" in message
    assert "kinit" in message and rm.url in message
    assert "Traceback" not in message
    assert rm.cluster.apps == {}  # nothing was submitted
    assert rm.spnego_principals == []
