"""Unit tests of the package's pure functions: no server, no hosts, no network."""

from __future__ import annotations

import json

import pytest
from jupyter_client.kernelspec import KernelSpec

from jupyter_remote_kernels.cli import CLIError, fill_template, migrate_spec
from jupyter_remote_kernels.errors import KernelspecError
from jupyter_remote_kernels.kernelspecs import translate_kernelspec
from jupyter_remote_kernels.placement import Placement
from jupyter_remote_kernels.ssh.balancer import HostBalancer
from jupyter_remote_kernels.ssh.pool import SSHTarget, parse_host
from jupyter_remote_kernels.yarn.endpoints import check_endpoint

EG_SSH = "enterprise_gateway.services.processproxies.distributed.DistributedProcessProxy"


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("node1", ("", "node1", None)),
        ("node1:2222", ("", "node1", 2222)),
        ("alice@node1", ("alice", "node1", None)),
        ("alice@node1:2222", ("alice", "node1", 2222)),
        ("[fd00::1]:2222", ("", "fd00::1", 2222)),
        ("fd00::1", ("", "fd00::1", None)),
        (" bob@[::1] ", ("bob", "::1", None)),
    ],
)
def test_parse_host(spec, parsed):
    assert parse_host(spec) == parsed


@pytest.mark.parametrize("bad", ["", "node1:0", "node1:70000", "alice@", "node:x"])
def test_parse_host_refuses(bad):
    with pytest.raises(ValueError, match="host"):
        parse_host(bad)


def test_fill_template_fills_install_fields_and_keeps_launch_fields(tmp_path):
    template = tmp_path / "tpl"
    template.mkdir()
    (template / "kernel.json").write_text(
        json.dumps({"argv": ["@@PYTHON@@", "{kernel_id}"], "hosts": "@@HOSTS@@", "d": "@@D@@!"})
    )
    (template / "run.sh").write_text("echo @@D@@ {kernel_id}\n")
    out = tmp_path / "out"
    spec = fill_template(template, {"PYTHON": "py", "HOSTS": ["a", "b"], "D": "x"}, out)
    assert spec == {"argv": ["py", "{kernel_id}"], "hosts": ["a", "b"], "d": "x!"}
    assert (out / "run.sh").read_text() == "echo x {kernel_id}\n"


def test_fill_template_names_every_missing_field_and_writes_nothing(tmp_path):
    template = tmp_path / "tpl"
    template.mkdir()
    (template / "kernel.json").write_text(json.dumps({"a": "@@A@@", "b": "@@B@@"}))
    with pytest.raises(CLIError, match="A, B"):
        fill_template(template, {}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def spec(metadata, argv=("python", "-m", "ipykernel_launcher")):
    return KernelSpec(argv=list(argv), display_name="x", language="python", metadata=metadata)


def test_translate_eg_process_proxy_to_a_provisioner_stanza():
    eg = {"process_proxy": {"class_name": EG_SSH, "config": {"remote_hosts": "h1,h2"}}}
    stanza = translate_kernelspec("k", spec(eg)).metadata["kernel_provisioner"]
    assert stanza["provisioner_name"] == "jrk-ssh-provisioner"
    assert stanza["config"]["remote_hosts"] == ["h1", "h2"]


def test_translate_refuses_unknown_keys_and_both_stanzas():
    eg = {"process_proxy": {"class_name": EG_SSH, "config": {"remote_hostz": "h1"}}}
    with pytest.raises(KernelspecError, match="remote_hostz"):
        translate_kernelspec("k", spec(eg))
    both = {**eg, "kernel_provisioner": {"provisioner_name": "jrk-local-provisioner"}}
    with pytest.raises(KernelspecError, match="keep one"):
        translate_kernelspec("k", spec(both))


def test_translate_leaves_a_plain_spec_alone():
    plain = spec({})
    assert translate_kernelspec("k", plain) is plain


def test_migrate_spec_rewrites_an_eg_spec():
    eg = {
        "argv": ["python", "/opt/eg/launch_ipykernel.py", "--RemoteProcessProxy.kernel-id",
                 "{kernel_id}", "--RemoteProcessProxy.response-address", "{response_address}",
                 "--RemoteProcessProxy.public-key", "{public_key}"],
        "display_name": "x",
        "metadata": {"process_proxy": {"class_name": EG_SSH, "config": {"remote_hosts": "h1"}}},
    }  # fmt: skip
    new, changes = migrate_spec(eg)
    assert changes
    assert "{public_key}" not in json.dumps(new)
    assert new["metadata"]["process_proxy"]["config"]["remote_hosts"] in ("h1", ["h1"])


def test_placement_phase_time_changes_only_with_the_phase():
    placement = Placement(provisioner="p", kind="ssh")
    since = placement.phase_since
    placement.set_phase("starting", "again")
    assert placement.phase_since == since and placement.detail == "again"
    placement.set_phase("ready")
    assert placement.to_dict()["phase"] == "ready"
    with pytest.raises(ValueError, match="unknown launch phase"):
        placement.set_phase("flying")


def test_round_robin_counts_starts_not_restarts():
    hosts = [SSHTarget(host="a"), SSHTarget(host="b")]
    balancer = HostBalancer()
    first = balancer.plan(hosts, "round-robin")[0]
    restarted = balancer.plan(hosts, "round-robin", previous=first)[0]
    second = balancer.plan(hosts, "round-robin")[0]
    assert restarted == first
    assert {first.host, second.host} == {"a", "b"}


def test_least_loaded_and_first_available():
    hosts = [SSHTarget(host="a"), SSHTarget(host="b")]
    balancer = HostBalancer()
    assert balancer.plan(hosts, "least-loaded")[0].host == "a"
    assert balancer.plan(hosts, "least-loaded")[0].host == "b"
    balancer.free(hosts[1])
    assert balancer.plan(hosts, "least-loaded")[0].host == "b"
    assert [t.host for t in balancer.plan(hosts, "first-available")] == ["a", "b"]


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("rm:8088", "http://rm:8088"),
        ("http://rm:8088/ws/v1/cluster/", "http://rm:8088"),
        ("https://rm.example:8090", "https://rm.example:8090"),
    ],
)
def test_yarn_endpoints(given, url):
    assert check_endpoint(given) == url


def test_yarn_endpoint_refused():
    with pytest.raises(ValueError, match="http://HOST:8088"):
        check_endpoint("ftp://rm")
