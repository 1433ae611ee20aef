"""Kerberos (SPNEGO) to a real Hadoop ResourceManager, against a real MIT KDC.

A second real YARN cluster of its own (one NodeManager host), so the session's shared
cluster keeps simple auth: its RM's web UI and REST API take only SPNEGO
(``hadoop.http.authentication.type=kerberos`` through Hadoop's own
``AuthenticationFilterInitializer``, the RM's web principal ``HTTP/<its address>@JRK.TEST``
and its keytab); Hadoop RPC stays simple (``hadoop.security.authentication=simple``), so
spark-submit submits as ever. The Jupyter Server under test holds a ticket for
``jupyter@JRK.TEST`` in a private ticket cache (as after ``kinit``); its YARN provisioner
(``yarn_auth: kerberos``) follows the Spark kernel's application and kills it through that RM,
and the RM itself says who killed it. A request without a token gets 401.

The principal names the RM by the address its URL uses (the bed's bridge address): the
client asks the KDC for ``HTTP/<URL host>``, and Java's acceptor takes only tokens for the
principal it was given.
"""

from __future__ import annotations

import importlib.util
import json
import secrets
import signal

import pytest
import requests

from testing.kdc import TestKDC, missing_tools
from testing.sshbed import SSHTestBed
from testing.yarncluster import YarnClusterError, YarnTestCluster, require

from ..conftest_yarncluster import check_nothing_left
from ..kernels import ws_execute
from ..server_process import ServerProcess
from ..yarn_helpers import LAUNCH_TIMEOUT, install_spark_spec, leftovers, start_kernel

pytestmark = pytest.mark.timeout(1200)

AUTH_FILTER = "org.apache.hadoop.security.AuthenticationFilterInitializer"


@pytest.fixture(scope="module")
def kerberized_yarn(tmp_path_factory):
    """A KDC, a ticket for jupyter@JRK.TEST in KRB5CCNAME, and a real YARN cluster whose RM
    web API accepts only SPNEGO. Stopped at the end of the module, leaving nothing."""
    missing = missing_tools()
    if missing:
        pytest.fail(f"an MIT Kerberos KDC is missing: apt-get install {' '.join(missing)}",
                    pytrace=False)  # fmt: skip
    if importlib.util.find_spec("requests_kerberos") is None:
        pytest.fail("requests-kerberos is missing: pip install 'jupyter_remote_kernels"
                    "[kerberos,test]'", pytrace=False)  # fmt: skip
    try:
        require(fetch=True)
    except YarnClusterError as exc:
        pytest.fail(str(exc), pytrace=False)
    from requests_kerberos import OPTIONAL, HTTPKerberosAuth  # noqa: PLC0415 (checked above)

    folder = tmp_path_factory.mktemp("kerberized-yarn")
    kdc = TestKDC(folder / "kdc")
    bed = cluster = None
    with pytest.MonkeyPatch.context() as env:
        try:
            kdc.start()
            for name, value in kdc.env.items():
                env.setenv(name, value)
            env.delenv("KRB5_TRACE")
            bed = SSHTestBed(1, folder / "bed", mode="netns")
            bed.start()
            rm_principal = kdc.add_principal(f"HTTP/{bed.route_source_address}",
                                             folder / "rm.keytab")  # fmt: skip
            user = kdc.add_principal("jupyter", folder / "jupyter.keytab")
            kdc.kinit(user, folder / "jupyter.keytab", folder / "ccache")
            env.setenv("KRB5CCNAME", f"FILE:{folder / 'ccache'}")
            secret = folder / "http-signature-secret"
            secret.write_text(secrets.token_hex(32))
            cluster = YarnTestCluster(
                bed=bed,
                workdir=folder / "yarn",
                label="kerberos",
                nm_memory_mb=4096,
                rm_core_site={
                    "hadoop.http.filter.initializers": AUTH_FILTER,
                    "hadoop.http.authentication.type": "kerberos",
                    "hadoop.http.authentication.kerberos.principal": rm_principal,
                    "hadoop.http.authentication.kerberos.keytab": str(folder / "rm.keytab"),
                    "hadoop.http.authentication.simple.anonymous.allowed": "false",
                    "hadoop.http.authentication.signature.secret.file": str(secret),
                },
                rm_java_options=[f"-Djava.security.krb5.conf={kdc.krb5_conf}"],
                rest_auth=HTTPKerberosAuth(mutual_authentication=OPTIONAL),
            )
            try:
                cluster.start()
            except YarnClusterError as exc:
                pytest.fail(f"the Kerberos YARN cluster did not start: {exc}", pytrace=False)
            yield cluster
        finally:
            if cluster is not None:
                cluster.stop()
            if bed is not None:
                bed.stop()
            kdc.stop()


def test_a_real_rm_with_spnego_refuses_a_request_without_a_token(kerberized_yarn):
    url = f"{kerberized_yarn.rm_url}/ws/v1/cluster/apps"
    for params in ({}, {"user.name": "jupyter"}):  # simple auth's user.name is not enough
        refused = requests.get(url, params=params, timeout=30)
        assert refused.status_code == 401, refused.text
        assert refused.headers.get("WWW-Authenticate") == "Negotiate", refused.headers
    status, _ = kerberized_yarn.rest("apps")  # with a token made from the ticket cache
    assert status == 200


def test_provisioner_follows_and_kills_through_a_kerberos_rm(kerberized_yarn, tmp_path):
    """A Spark kernel on the Kerberos cluster: started, followed and killed by the server
    through SPNEGO. The RM records the kill under the Kerberos principal's short name
    (with simple auth it would be ``dr.who`` or a ``user.name``)."""
    yarn = kerberized_yarn
    folder = install_spark_spec(yarn, tmp_path, "spark-krb")
    spec = json.loads((folder / "kernel.json").read_text())
    spec["metadata"]["process_proxy"]["config"]["yarn_auth"] = "kerberos"
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    server = ServerProcess(tmp_path, token="yarn-krb").start(timeout=60)
    try:
        model = start_kernel(server, "spark-krb")
        kernel_id, placement = model["id"], model["placement"]
        app_id = placement["details"]["app_id"]
        assert placement["phase"] == "ready" and app_id, placement
        assert ws_execute(server, kernel_id, "print(6 * 7)", timeout=LAUNCH_TIMEOUT) == "42\n"
        assert server.request("DELETE", f"/api/kernels/{kernel_id}").status_code == 204
        app = yarn.wait_app(app_id, states=["KILLED"], timeout=120)
        assert app["finalStatus"] == "KILLED", app
        # (RMWebServices names the caller by its principal: jupyter, or jupyter@JRK.TEST)
        assert app["diagnostics"].startswith(
            f"Application {app_id} was killed by user jupyter"
        ), app
    finally:
        server.stop(signal.SIGTERM, timeout=120)
    assert not leftovers(yarn)
    check_nothing_left(yarn, grace=10)
