"""``jupyter remote-kernels install k8s`` and ``check NAME`` against the real test cluster, and
the README's RBAC: a ServiceAccount bound to exactly the README's Role passes ``check`` and
runs a kernel through a real Jupyter Server; one without it fails ``check`` naming what is
missing; a missing image fails naming the image."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jupyter_remote_kernels.k8s.check import CLUSTER_RULES, NAMESPACE_RULES
from testing.k8scluster import PYTHON_IMAGE, K8sClusterError

from ..kernels import ws_execute
from ..server_process import ServerProcess
from .ops_helpers import NOTHING, namespaces, nothing_left, ours, start_kernel

pytestmark = pytest.mark.timeout(600)
REPO = Path(__file__).resolve().parents[2]
NS = "jrk-rbac"
ROLE_NAME = "jupyter-remote-kernels"


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_remote_kernels.cli", *args],
        capture_output=True,
        check=False,
        text=True,
        env=env,
        timeout=300,
    )


def readme_role(kind: str = "Role") -> dict:
    """The Role (or ClusterRole) of the README's Kubernetes section."""
    blocks = re.findall(r"```yaml\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    docs = [d for b in blocks for d in yaml.safe_load_all(b) if isinstance(d, dict)]
    return next(d for d in docs if d.get("kind") == kind)


def rules_of(role: dict) -> dict:
    return {(r["apiGroups"][0], r["resources"][0]): sorted(r["verbs"]) for r in role["rules"]}


def kubeconfig_for(cluster, account: str, folder: Path) -> Path:
    """A kubeconfig with a token of ServiceAccount ``account`` of NS (the admin's CA)."""
    token = cluster.api(
        "POST",
        f"/api/v1/namespaces/{NS}/serviceaccounts/{account}/token",
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 3600},
        },
    )["status"]["token"]
    admin = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    ca = admin["clusters"][0]["cluster"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "sa",
        "clusters": [{"name": "bed", "cluster": ca}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "bed", "user": account}}],
    }
    path = folder / f"{account}.kubeconfig"
    path.write_text(json.dumps(config))
    return path


@pytest.fixture(scope="module")
def rbac(k8s_cluster, tmp_path_factory):
    """NS with three ServiceAccounts: ``kernels-admin`` bound to the README's Role,
    ``kernels-cluster`` to its ClusterRole, ``nobody`` to nothing. Yields their kubeconfigs."""
    folder = tmp_path_factory.mktemp("rbac")
    api, rbac_api = k8s_cluster.api, "/apis/rbac.authorization.k8s.io/v1"
    api("POST", "/api/v1/namespaces", {"metadata": {"name": NS}})
    cluster_role = readme_role("ClusterRole")
    accounts = ("kernels-admin", "kernels-cluster", "nobody")
    try:
        role = readme_role()
        role["metadata"]["namespace"] = NS
        api("POST", f"{rbac_api}/namespaces/{NS}/roles", role)
        api("POST", f"{rbac_api}/clusterroles", cluster_role)
        for account in accounts:
            api("POST", f"/api/v1/namespaces/{NS}/serviceaccounts", {"metadata": {"name": account}})
        for path, kind, account in (
            (f"namespaces/{NS}/rolebindings", "Role", "kernels-admin"),
            ("clusterrolebindings", "ClusterRole", "kernels-cluster"),
        ):
            ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": ROLE_NAME}
            subject = {"kind": "ServiceAccount", "name": account, "namespace": NS}
            body = {"metadata": {"name": account}, "roleRef": ref, "subjects": [subject]}
            api("POST", f"{rbac_api}/{path}", body)
        yield {a: kubeconfig_for(k8s_cluster, a, folder) for a in accounts}
    finally:
        api("DELETE", f"/api/v1/namespaces/{NS}")
        for path in ("clusterrolebindings/kernels-cluster", f"clusterroles/{ROLE_NAME}"):
            with contextlib.suppress(K8sClusterError):
                api("DELETE", f"{rbac_api}/{path}")


@pytest.fixture
def env(tmp_path):
    return dict(
        os.environ,
        JUPYTER_PATH=str(tmp_path / "share" / "jupyter"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    )


def install(env, tmp_path, name, *options):
    done = cli("install", "k8s", "--name", name, "--prefix", str(tmp_path), *options, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads((tmp_path / "share/jupyter/kernels" / name / "kernel.json").read_text())


def test_readme_roles_are_the_checked_rules():
    ours = {(g, res): sorted(verbs) for g, res, verbs in NAMESPACE_RULES}
    assert rules_of(readme_role()) == ours
    clusters = {(g, res): sorted(verbs) for g, res, verbs in CLUSTER_RULES}
    assert rules_of(readme_role("ClusterRole")) == {**ours, **clusters}
    assert readme_role()["metadata"]["name"] == ROLE_NAME


def test_install_help_lists_the_options(env):
    done = cli("install", "k8s", "--help", env=env)
    assert done.returncode == 0, done.stderr
    for option in (
        "--image",
        "--namespace",
        "--namespace-template",
        "--cpu",
        "--memory",
        "--gpus",
        "--service-account",
        "--kubeconfig",
    ):
        assert f"{option}=" in done.stdout, (option, done.stdout)


def test_install_refuses_bad_values(env, tmp_path):
    for options, words in (
        (["--namespace", "x"], "needs --image"),
        (["--image", "i:1", "--cpu", "lots"], "not a CPU quantity"),
        (["--image", "i:1", "--namespace", "Bad_NS"], "not a Kubernetes"),
    ):
        done = cli("install", "k8s", "--prefix", str(tmp_path), *options, env=env)
        assert done.returncode == 2 and words in done.stderr, (options, done.stderr)


def test_install_names_any_kernel_in_its_display_name(env, tmp_path):
    """``--kernel-argv ... --language R`` and ``--from-kernelspec ir`` (Debian's IRkernel
    spec): the kernel's label, not "Python 3", in the default display name, as the other
    kinds do; an explicit --display-name wins."""
    argv = ["R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"]
    for name, options in (
        ("r-argv", ["--kernel-argv", json.dumps(argv), "--language", "R"]),
        ("r-spec", ["--from-kernelspec", "ir", "--namespace-template", "jupyter-{username}"]),
    ):
        spec = install(env, tmp_path, name, "--image", "jrk.test/r:1", *options)
        where = "jupyter-{username}" if name == "r-spec" else "default"
        assert spec["display_name"] == f"R (Kubernetes, {where})", spec
        assert spec["language"] == "R", spec
        assert spec["metadata"]["process_proxy"]["config"]["kernel_argv"] == argv, spec
        assert "debugger" not in spec["metadata"], spec  # IRkernel has none
    spec = install(env, tmp_path, "py", "--image", "jrk.test/py:1")
    assert spec["display_name"] == "Python 3 (Kubernetes, default)", spec
    spec = install(env, tmp_path, "named", "--image", "jrk.test/r:1", "--language", "R",
                   "--kernel-argv", json.dumps(argv), "--display-name", "R on k8s")
    assert spec["display_name"] == "R on k8s", spec


def test_minimal_role_installs_checks_and_runs_a_kernel(k8s_cluster, rbac, env, tmp_path):
    spec = install(
        env,
        tmp_path,
        "k8s-cli",
        "--image",
        PYTHON_IMAGE,
        "--namespace",
        NS,
        "--cpu",
        "1",
        "--memory",
        "2Gi",
        "--kubeconfig",
        str(rbac["kernels-admin"]),
    )
    config = spec["metadata"]["process_proxy"]["config"]
    assert config["k8s_resources"] == {
        "requests": {"cpu": "1", "memory": "2Gi"},
        "limits": {"cpu": "1", "memory": "2Gi"},
    }
    assert config["k8s_python"] == "python3" and spec["argv"][0] == "python3"
    checked = cli("check", "k8s-cli", env=env)
    print(checked.stdout)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert re.search(r"ok +api .*as system:serviceaccount:jrk-rbac:kernels-admin", checked.stdout)
    assert re.search(r"ok +rbac .*allowed", checked.stdout)
    assert re.search(
        r"ok +image +Python 3\.\d+\.\d+ ipykernel \S+ in " + re.escape(PYTHON_IMAGE), checked.stdout
    )
    assert ours(k8s_cluster, "pods", NS) == []  # the test pod is gone
    (tmp_path / "data").symlink_to(tmp_path / "share" / "jupyter")  # the server's JUPYTER_PATH
    srv = ServerProcess(tmp_path, token="k8s-cli").start(timeout=90)
    try:
        r = start_kernel(srv, "k8s-cli")
        assert r.status_code == 201, r.text
        [pod] = ours(k8s_cluster, "pods", NS)
        assert pod["spec"]["containers"][0]["resources"] == config["k8s_resources"]
        assert ws_execute(srv, r.json()["id"], "print(6 * 7)", 60).strip() == "42"
        assert srv.request("DELETE", f"/api/kernels/{r.json()['id']}").status_code == 204
    finally:
        srv.stop(timeout=120)
    assert nothing_left(k8s_cluster, [r.json()["id"]]) == NOTHING


def test_check_fails_clearly_without_rbac_or_with_a_missing_image(k8s_cluster, rbac, env, tmp_path):
    install(
        env,
        tmp_path,
        "k8s-nobody",
        "--image",
        PYTHON_IMAGE,
        "--namespace",
        NS,
        "--kubeconfig",
        str(rbac["nobody"]),
    )
    checked = cli("check", "k8s-nobody", env=env)
    print(checked.stdout)
    assert checked.returncode == 1, checked.stdout
    assert re.search(
        r"FAIL rbac +not allowed: pods in jrk-rbac: create delete deletecollection get list "
        r"watch; secrets in jrk-rbac: create delete deletecollection get patch\. Bind the Role",
        checked.stdout,
    )
    assert re.search(r"FAIL image +not checked: the test pod needs the RBAC", checked.stdout)
    spec = install(
        env,
        tmp_path,
        "k8s-noimage",
        "--image",
        "jrk.test/no-such-image:1",
        "--namespace",
        NS,
        "--kubeconfig",
        str(rbac["kernels-admin"]),
    )
    # No registry is reachable here: the bed's pods never pull (a pull would fail as well,
    # after the DNS lookup's time).
    spec["metadata"]["process_proxy"]["config"]["k8s_image_pull_policy"] = "Never"
    path = tmp_path / "share/jupyter/kernels/k8s-noimage/kernel.json"
    path.write_text(json.dumps(spec))
    checked = cli("check", "k8s-noimage", env=env)
    print(checked.stdout)
    assert checked.returncode == 1, checked.stdout
    assert re.search(
        r"FAIL image +image jrk.test/no-such-image:1: ErrImageNeverPull: .*not present",
        checked.stdout,
    )
    assert ours(k8s_cluster, "pods", NS) == []


def test_cluster_role_runs_per_user_namespaces(k8s_cluster, rbac, env, tmp_path):
    """The README's ClusterRole: check passes (namespaces included) and a per-user kernel's
    namespace is made and deleted with these credentials."""
    install(
        env,
        tmp_path,
        "k8s-per-user",
        "--image",
        PYTHON_IMAGE,
        "--namespace-template",
        "jrk-cr-{username}",
        "--kubeconfig",
        str(rbac["kernels-cluster"]),
    )
    checked = cli("check", "k8s-per-user", env=env)
    print(checked.stdout)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "and namespaces (cluster): allowed" in checked.stdout
    (tmp_path / "data").symlink_to(tmp_path / "share" / "jupyter")
    srv = ServerProcess(tmp_path, token="k8s-cr").start(timeout=90)
    try:
        r = start_kernel(srv, "k8s-per-user")
        assert r.status_code == 201, r.text
        made = [n for n in namespaces(k8s_cluster) if n.startswith("jrk-cr-")]
        assert len(made) == 1 and ours(k8s_cluster, "pods", made[0]), made
        assert srv.request("DELETE", f"/api/kernels/{r.json()['id']}").status_code == 204
        assert made[0] not in namespaces(k8s_cluster)
    finally:
        srv.stop(timeout=120)
    assert nothing_left(k8s_cluster, [r.json()["id"]]) == NOTHING
