"""The Kubernetes pod's resources and limits (jupyter_remote_kernels.k8s.resources): the
kernelspec's values, a request's KERNEL_* values honoured within the admin's lists and maxima,
refused (403 naming the limit, 400 for a malformed value) beyond them; apply() to a manifest."""

from __future__ import annotations

import pytest

from jupyter_remote_kernels.errors import InvalidRequest, KernelspecError, NotAuthorized
from jupyter_remote_kernels.k8s.resource_settings import dns_label, parse_cpu, parse_memory
from jupyter_remote_kernels.k8s.resources import pod_overrides
from jupyter_remote_kernels.k8s.settings import K8sSettings
from jupyter_remote_kernels.k8s.translate import eg_argv, eg_config

IMAGE = "reg.example.org/kernels/python:3.11"


def settings(**kw):
    return K8sSettings(**{"k8s_image": IMAGE, **kw})


def test_quantities():
    assert parse_cpu("500m") == 0.5 and parse_cpu("2") == 2 and parse_cpu("1.5") == 1.5
    assert parse_memory("2Gi") == 2 * 2**30 and parse_memory("1G") == 1e9
    for bad in ("1 ; rm -rf /", "2 cores", "$(id)", ""):
        with pytest.raises(ValueError):
            parse_cpu(bad)
        with pytest.raises(ValueError):
            parse_memory(bad)


def test_kernelspec_values_reach_the_pod():
    s = settings(
        k8s_resources={
            "requests": {"cpu": "1", "memory": "1Gi"},
            "limits": {"cpu": "2", "memory": "2Gi", "nvidia.com/gpu": 1},
        },
        k8s_namespace="kernels",
        k8s_service_account="kernel-sa",
        k8s_node_selector={"pool": "cpu"},
        k8s_tolerations=[{"key": "k", "operator": "Exists"}],
        k8s_volumes=[{"name": "home", "persistentVolumeClaim": {"claimName": "home-{username}"}}],
        k8s_volume_mounts=[{"name": "home", "mountPath": "/home/{username}"}],
        k8s_working_dir="/home/{username}",
        k8s_run_as_user=1000,
        k8s_run_as_group=100,
        k8s_fs_group=100,
        k8s_run_as_non_root=True,
    )
    pod = {
        "metadata": {"name": "jrk-x"},
        "spec": {
            "volumes": [{"name": "launch", "secret": {"secretName": "s"}}],
            "containers": [
                {"name": "kernel", "volumeMounts": [{"name": "launch", "mountPath": "/l"}]}
            ],
        },
    }
    o = pod_overrides(s, {}, username="Alice.Smith")
    o.apply(pod)
    user = dns_label("Alice.Smith")
    assert user.startswith("alice-smith-") and len(user) == len("alice-smith-") + 8
    spec, main = pod["spec"], pod["spec"]["containers"][0]
    assert pod["metadata"]["namespace"] == "kernels"
    assert spec["serviceAccountName"] == "kernel-sa"
    assert spec["automountServiceAccountToken"] is False
    assert spec["nodeSelector"] == {"pool": "cpu"}
    assert [v["name"] for v in spec["volumes"]] == ["launch", "home"]
    assert spec["volumes"][1]["persistentVolumeClaim"]["claimName"] == f"home-{user}"
    assert [m["mountPath"] for m in main["volumeMounts"]] == ["/l", f"/home/{user}"]
    assert main["workingDir"] == f"/home/{user}"
    assert main["image"] == IMAGE
    assert main["resources"] == {
        "requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
        "limits": {"cpu": "2", "memory": "2Gi", "nvidia.com/gpu": "1"},
    }
    assert spec["securityContext"] == {
        "runAsUser": 1000,
        "runAsGroup": 100,
        "fsGroup": 100,
        "runAsNonRoot": True,
    }
    assert main["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }


def test_request_within_limits_is_honoured():
    s = settings(
        k8s_resources={
            "requests": {"cpu": "1", "memory": "1Gi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        max_cpus="4",
        max_memory="8Gi",
        max_gpus=2,
        allowed_images=["reg.example.org/kernels/*"],
        allowed_namespaces=["team-a", "jupyter-{username}"],
        allowed_uids=["1000-1999"],
        k8s_run_as_user=1000,
        allowed_service_accounts=["spark"],
        allowed_working_dirs=["/home/{username}"],
    )
    o = pod_overrides(
        s,
        {
            "KERNEL_CPUS": "2",
            "KERNEL_MEMORY": "4Gi",
            "KERNEL_MEMORY_LIMIT": "6Gi",
            "KERNEL_GPUS": "2",
            "KERNEL_IMAGE": "reg.example.org/kernels/r:4",
            "KERNEL_NAMESPACE": "jupyter-bob",
            "KERNEL_UID": "1500",
            "KERNEL_SERVICE_ACCOUNT_NAME": "spark",
            "KERNEL_WORKING_DIR": "/home/bob/project",
        },
        username="bob",
    )
    assert o.requests == {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "2"}
    # The CPU limit follows a request above it (within max_cpus); the asked memory limit stays.
    assert o.limits == {"cpu": "2", "memory": "6Gi", "nvidia.com/gpu": "2"}
    assert (o.image, o.namespace, o.create_namespace) == (
        "reg.example.org/kernels/r:4",
        "jupyter-bob",
        False,
    )
    assert o.pod_security["runAsUser"] == 1500 and o.service_account == "spark"
    assert o.working_dir == "/home/bob/project"


@pytest.mark.parametrize(
    ("env", "limit"),
    [
        ({"KERNEL_CPUS": "8"}, "max_cpus: 4"),
        ({"KERNEL_CPUS_LIMIT": "5"}, "max_cpus: 4"),
        ({"KERNEL_MEMORY": "9Gi"}, "max_memory: 8Gi"),
        ({"KERNEL_GPUS": "1"}, "max_gpus: no change"),
        ({"KERNEL_IMAGE": "evil.example.com/miner:1"}, "allowed_images: reg.example.org/kernels/*"),
        ({"KERNEL_NAMESPACE": "kube-system"}, "allowed_namespaces: only 'default'"),
        (
            {"KERNEL_SERVICE_ACCOUNT_NAME": "admin"},
            "allowed_service_accounts: none (only the kernelspec's default)",
        ),
        ({"KERNEL_UID": "0"}, "allowed_uids: 1000-1999"),
        ({"KERNEL_UID": "2000"}, "allowed_uids: 1000-1999"),
        ({"KERNEL_GID": "0"}, "allowed_gids: none (the image's)"),
        ({"KERNEL_VOLUMES": "[{name: x, hostPath: {path: /}}]"}, "KERNEL_VOLUMES is not accepted"),
    ],
)
def test_request_beyond_limits_is_refused_naming_the_limit(env, limit):
    s = settings(
        max_cpus="4",
        max_memory="8Gi",
        allowed_images=["reg.example.org/kernels/*"],
        allowed_uids=["1000-1999"],
        k8s_run_as_user=1000,
    )
    with pytest.raises(NotAuthorized) as info:
        pod_overrides(s, env, username="bob")
    assert limit in str(info.value)
    assert info.value.http_status == 403


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"KERNEL_CPUS": "2; rm -rf /"}, "not a CPU quantity"),
        ({"KERNEL_MEMORY": "$(reboot)"}, "not a memory quantity"),
        ({"KERNEL_GPUS": "1 && id"}, "whole number of GPUs"),
        ({"KERNEL_GPUS": "1", "KERNEL_GPUS_LIMIT": "2"}, "differ"),
        ({"KERNEL_IMAGE": "img`id`"}, "not an image reference"),
        ({"KERNEL_UID": "-1"}, "numeric uid"),
        ({"KERNEL_MEMORY": "2Gi", "KERNEL_MEMORY_LIMIT": "1Gi"}, "below the memory request"),
        ({"KERNEL_WORKING_DIR": "/home/bob/../../etc"}, "normalized"),
    ],
)
def test_malformed_request_is_400(env, says):
    s = settings(
        max_cpus="4",
        max_memory="8Gi",
        max_gpus=2,
        allowed_uids=["1000-1999"],
        allowed_working_dirs=["/home/{username}"],
    )
    with pytest.raises(InvalidRequest, match=says) as info:
        pod_overrides(s, env, username="bob")
    assert info.value.http_status == 400


def test_per_user_namespace_and_non_root():
    s = settings(k8s_namespace_template="jupyter-{username}", k8s_run_as_non_root=True)
    o = pod_overrides(s, {}, username="Bob")
    assert o.namespace == f"jupyter-{dns_label('Bob')}" and o.create_namespace
    assert not pod_overrides(
        settings(k8s_namespace_template="jupyter-{username}", k8s_create_namespaces=False),
        {},
        "bob",
    ).create_namespace
    with pytest.raises(NotAuthorized, match="k8s_run_as_non_root"):
        pod_overrides(settings(k8s_run_as_user=0, k8s_run_as_non_root=True), {}, "bob")
    with pytest.raises(KernelspecError, match="sets no image"):
        pod_overrides(K8sSettings(), {}, "bob")
    with pytest.raises(ValueError, match="unknown field"):
        settings(k8s_namespace_template="jupyter-{username.__class__}")
    with pytest.raises(ValueError, match="CPU quantity"):
        settings(max_cpus="lots")


def test_eg_and_gp_argv_and_config_become_ours():
    eg = ["python", "/usr/local/share/jupyter/kernels/py_k8s/scripts/launch_kubernetes.py",
          "--RemoteProcessProxy.kernel-id", "{kernel_id}", "--RemoteProcessProxy.port-range",
          "{port_range}", "--RemoteProcessProxy.response-address", "{response_address}",
          "--RemoteProcessProxy.public-key", "{public_key}"]  # fmt: skip
    assert eg_argv(eg) == [
        "python3", "{launcher}", "--RemoteProcessProxy.kernel-id", "{kernel_id}",
        "--RemoteProcessProxy.port-range", "{port_range}",
        "--RemoteProcessProxy.response-address", "{response_address}",
        "--ip", "{pod_ip}"]  # fmt: skip
    gp = ["python", "/x/scripts/launch_kubernetes.py", "--kernel-id", "K", "--public-key",
          "PK", "--transport-encryption", "disabled", "--kernel-class-name", "C"]  # fmt: skip
    assert eg_argv(gp, "/l/launch_ipykernel.py", "py", extra=()) == [
        "py",
        "/l/launch_ipykernel.py",
        "--kernel-id",
        "K",
        "--kernel-class-name",
        "C",
    ]
    ours = ["python3", "{launcher}", "--kernel-id", "{kernel_id}"]
    assert eg_argv(ours) == ours
    assert eg_config({"image_name": "i:1", "executor_image_name": "e:1", "launch_timeout": 30}) \
        == {"k8s_image": "i:1", "launch_timeout": 30}  # fmt: skip


def test_working_dir_is_ignored_unless_listed():
    assert pod_overrides(settings(), {"KERNEL_WORKING_DIR": "/etc"}, "bob").working_dir == ""
    listed = settings(allowed_working_dirs=["/home/{username}"])
    with pytest.raises(NotAuthorized, match="allowed_working_dirs: /home/bob"):
        pod_overrides(listed, {"KERNEL_WORKING_DIR": "/etc"}, "bob")
