"""Enterprise Gateway's own integration tests, released and unmodified, against this server.

EG's ``enterprise_gateway/itests`` (its ``GatewayClient``: REST + websocket, no token) run
in a subprocess against a real Jupyter Server with this extension, as EG's CI runs them
against EG: ``test_python_kernel.py`` with the local, SSH (the real SSH test hosts) and
YARN Spark cluster (the real Hadoop cluster, real spark-submit) kernelspecs made by this
project's CLI, and ``test_authorization.py`` with EG's own ``authorization_test``
kernelspec. Every kernel the itests start names ``KERNEL_USERNAME`` (``bob`` by default,
``bad_guy`` for the refusal): the server trusts its token holder as a gateway
(``trusted_gateway_users``, the JupyterHub + ``--gateway-url`` deployment), so the named
user is mapped and checked against the kernelspec's ``authorized_users`` /
``unauthorized_users``. The sdist comes from PyPI (``python -m testing.eg_itests fetch``,
cached; ``.ci/run`` fetches it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from testing.eg_itests import EG_VERSION, EgItestsError, extract
from testing.specs import REMOTE_PYTHON

from ..server_process import ServerProcess
from ..yarn_helpers import install_spark_spec, leftovers

pytestmark = pytest.mark.timeout(1500)

#: EG's client sends a start or restart with a 60 s HTTP timeout; the kernel's own launch
#: timeout (KERNEL_LAUNCH_TIMEOUT, EG's client sends "40" by default) stays below it, so a
#: slow launch fails with this server's 504 and its reason rather than a client timeout.
LAUNCH_TIMEOUT = "55"

BASE = {"test_get_hostname", "test_hello_world", "test_interrupt", "test_restart", "test_scope"}
SPARK = BASE | {
    "test_get_application_id",
    "test_get_deploy_mode",
    "test_get_resource_manager",
    "test_get_spark_version",
}
#: Skipped by EG itself (``@unittest.skip("Temporarily disabled")``).
EG_SKIPPED = {"test_run_pi_example"}

#: unittest -v: "test_x (module.Class.test_x) ... ok"; the client's log lines may come
#: between the "..." and the outcome, which then stands on a line of its own.
STARTED = re.compile(r"^(test_\w+) \(.*\) \.\.\. ?(.*)$")
OUTCOME = re.compile(r"^(ok|FAIL|ERROR|skipped.*|expected failure|unexpected success)$")


def outcomes_of(stderr: str) -> dict[str, str]:
    """{test name: unittest's outcome} from ``unittest -v``'s output."""
    outcomes, pending = {}, None
    for raw in stderr.splitlines():
        line = raw.strip()
        started = STARTED.match(line)
        if started:
            pending, line = started.group(1), started.group(2).strip()
        if pending and OUTCOME.match(line):
            outcomes[pending], pending = line, None
    return outcomes


def cli_install(base: Path, kind: str, name: str, *args: str) -> None:
    """``jupyter remote-kernels install KIND`` as an admin runs it, into the server's path."""
    prefix = base / "prefix"
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_remote_kernels.cli", "install", kind, "--name", name,
         "--prefix", str(prefix), *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    target = base / "data" / "kernels" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    (prefix / "share" / "jupyter" / "kernels" / name).rename(target)


def common_prefix(names: list[str]) -> str:
    """The hostnames' common start (EG's ITEST_HOSTNAME_PREFIX)."""
    prefix = names[0]
    for name in names[1:]:
        while not name.startswith(prefix):
            prefix = prefix[:-1]
    assert len(prefix) >= 3, names
    return prefix


@pytest.fixture(scope="module")
def eg_gateway(tmp_path_factory, ssh_bed, yarn_cluster):
    """The server EG's itests talk to, the kernelspecs and the unpacked itests."""
    base = tmp_path_factory.mktemp("eg-itests")
    try:
        root = extract(base / "eg")
    except EgItestsError as exc:
        pytest.fail(f"Enterprise Gateway {EG_VERSION}'s itests are not available: {exc}")
    cli_install(base, "local", "eg_python_local")
    hosts = ",".join(h.address if h.port == 22 else f"{h.address}:{h.port}" for h in ssh_bed.hosts)
    cli_install(
        base, "ssh", "eg_python_distributed", "--hosts", hosts, "--user-name", ssh_bed.user,
        "--python", REMOTE_PYTHON,
    )  # fmt: skip
    install_spark_spec(yarn_cluster, base, "eg_spark_python_yarn_cluster")
    shutil.copytree(
        root / "enterprise_gateway" / "itests" / "kernels" / "authorization_test",
        base / "data" / "kernels" / "authorization_test",
    )
    config = {
        "ServerApp": {
            "ip": "127.0.0.1",
            # EG's client sends no token and no XSRF cookie, as to EG.
            "disable_check_xsrf": True,
            "identity_provider_class": (
                "jupyter_remote_kernels.identity.NamedTokenIdentityProvider"
            ),
        },
        "NamedTokenIdentityProvider": {"token_username": "eg-itests"},
        "RemoteMappingKernelManager": {
            "trusted_gateway_users": ["eg-itests"],
            "kernel_user_mapping": {"bob": "bob", "alice": "alice", "bad_guy": "bad_guy"},
        },
        "SSHProvisioner": {
            "ssh_key_file": str(ssh_bed.client_key_path),
            "known_hosts_file": str(ssh_bed.known_hosts_path),
            "allow_agent": False,
        },
    }
    (base / "config").mkdir()
    (base / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
    server = ServerProcess(base, token="").start(timeout=60)
    try:
        yield server, root
    finally:
        server.stop(signal.SIGTERM, timeout=120)


def run_itests(server: ServerProcess, root: Path, test: str, hostname_prefix: str) -> dict:
    """Run one of EG's itest classes; {test name: outcome} and the output."""
    env = dict(
        os.environ,
        PYTHONPATH=str(root),
        GATEWAY_HOST=f"127.0.0.1:{server.port}",
        KERNEL_LAUNCH_TIMEOUT=LAUNCH_TIMEOUT,
        PYTHON_KERNEL_LOCAL_NAME="eg_python_local",
        PYTHON_KERNEL_DISTRIBUTED_NAME="eg_python_distributed",
        PYTHON_KERNEL_CLUSTER_NAME="eg_spark_python_yarn_cluster",
        AUTHORIZATION_KERNEL_NAME="authorization_test",
        ITEST_HOSTNAME_PREFIX=hostname_prefix,
        EXPECTED_SPARK_VERSION=re.escape(version("pyspark")),
    )
    env.pop("KERNEL_USERNAME", None)  # EG's client default: bob
    done = subprocess.run(
        [sys.executable, "-m", "unittest", "-v", f"enterprise_gateway.itests.{test}"],
        cwd=root, env=env, capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    print(output)
    return {"outcomes": outcomes_of(done.stderr), "returncode": done.returncode, "output": output}


def assert_all_passed(result: dict, expected: set[str]) -> None:
    outcomes = result["outcomes"]
    failed = {t: o for t, o in outcomes.items() if o != "ok" and t not in EG_SKIPPED}
    assert not failed, result["output"][-6000:]
    assert set(outcomes) - EG_SKIPPED == expected, result["output"][-6000:]
    assert result["returncode"] == 0, result["output"][-6000:]


def no_kernels(server: ServerProcess) -> bool:
    return server.request("GET", "/api/kernels").json() == []


def test_python_kernel_local(eg_gateway):
    server, root = eg_gateway
    result = run_itests(
        server, root, "test_python_kernel.TestPythonKernelLocal", socket.gethostname()
    )
    assert_all_passed(result, BASE)
    assert no_kernels(server)


def test_python_kernel_distributed_on_the_ssh_hosts(eg_gateway, ssh_bed):
    server, root = eg_gateway
    prefix = common_prefix([h.hostname for h in ssh_bed.hosts])
    result = run_itests(server, root, "test_python_kernel.TestPythonKernelDistributed", prefix)
    assert_all_passed(result, BASE)
    assert no_kernels(server)


def test_python_kernel_spark_cluster_on_yarn(eg_gateway, yarn_cluster):
    server, root = eg_gateway
    prefix = common_prefix([h.hostname for h in yarn_cluster.hosts])
    result = run_itests(server, root, "test_python_kernel.TestPythonKernelCluster", prefix)
    assert_all_passed(result, SPARK)
    assert no_kernels(server)
    assert not leftovers(yarn_cluster)


def test_authorization_through_the_trusted_gateway(eg_gateway):
    server, root = eg_gateway
    result = run_itests(server, root, "test_authorization.TestAuthorization", "")
    assert_all_passed(result, {"test_authorized_users", "test_unauthorized_users"})
    assert no_kernels(server)
