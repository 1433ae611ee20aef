"""The Kubernetes backend's pure parts: the pod's and Secret's manifests, reading a pod's
state as the watch gets it, the messages, the settings' checks and the kernelspec names."""

from __future__ import annotations

import asyncio
import base64
import json
import logging

import pytest
from jupyter_client.kernelspec import KernelSpec
from traitlets import TraitError

from jupyter_remote_kernels.errors import KernelspecError
from jupyter_remote_kernels.k8s import messages
from jupyter_remote_kernels.k8s.client import K8sClient
from jupyter_remote_kernels.k8s.errors import K8sError
from jupyter_remote_kernels.k8s.pod import (
    BUNDLE_FILE,
    PodState,
    pod_manifest,
    secret_manifest,
)
from jupyter_remote_kernels.k8s.provisioner import K8sProvisioner
from jupyter_remote_kernels.kernelspecs import translate_kernelspec


def pod_json(**status) -> dict:
    return {"metadata": {"name": "jrk-1", "uid": "u", "resourceVersion": "7",
                         "labels": {"jupyter-remote-kernels/kernel-id": "k1"}},
            "spec": {"nodeName": status.pop("node", ""),
                     "containers": [{"name": "kernel", "image": "img:1"}]},
            "status": status}  # fmt: skip


def test_pod_and_secret_manifests_keep_the_bundle_out_of_the_pod():
    argv = ["python3", "/m/launch_ipykernel.py", "--kernel-id", "k1", "--ip", "$(JRK_POD_IP)"]
    pod = pod_manifest(name="jrk-1", namespace="ns", kernel_id="k1", server_id="s1",
                       image="img:1", pull_policy="Never", argv=argv, mount_path="/m",
                       grace_period=2)  # fmt: skip
    container = pod["spec"]["containers"][0]
    assert container["command"][:2] == ["python3", "-c"]
    assert container["command"][3:] == ["/m/" + BUNDLE_FILE, *argv]
    assert [e["name"] for e in container["env"]] == ["JRK_POD_IP"]
    assert pod["spec"]["volumes"][0]["secret"] == {"secretName": "jrk-1", "defaultMode": 0o400}
    assert pod["metadata"]["labels"]["jupyter-remote-kernels/server"] == "s1"
    secret = secret_manifest("jrk-1", "ns", "k1", "s1", {BUNDLE_FILE: b"SECRET-BUNDLE"})
    assert base64.b64decode(secret["data"][BUNDLE_FILE]) == b"SECRET-BUNDLE"
    assert "SECRET-BUNDLE" not in json.dumps(pod)


def test_pod_state_pending_with_the_schedulers_message():
    pod = PodState.from_json(pod_json(phase="Pending", conditions=[
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": "0/1 nodes are available: 1 Insufficient cpu."}]))  # fmt: skip
    assert pod.unschedulable == "0/1 nodes are available: 1 Insufficient cpu."
    assert not pod.ended and pod.kernel_id == "k1" and pod.state == "Pending"


def test_pod_state_image_error_and_oomkilled():
    waiting = PodState.from_json(pod_json(phase="Pending", node="n1", containerStatuses=[
        {"name": "kernel", "state": {"waiting": {"reason": "ErrImageNeverPull",
                                                 "message": "not present"}}}]))  # fmt: skip
    assert waiting.waiting in messages.IMAGE_ERRORS
    said = messages.image_failed(waiting, "ns", "k1")
    assert "'img:1'" in said and "ErrImageNeverPull: not present" in said
    oom = PodState.from_json(pod_json(phase="Failed", node="n1", containerStatuses=[
        {"name": "kernel", "state": {"terminated": {"reason": "OOMKilled",
                                                    "exitCode": 137}}}]))  # fmt: skip
    assert oom.ended and oom.exit_code == 137
    assert "OOMKilled (its memory limit was exceeded), exit code 137" in messages.died(
        oom, "jrk-1", "ns", "k1")
    evicted = PodState.from_json(pod_json(phase="Failed", reason="Evicted",
                                          message="The node was low on resource: memory."))
    assert messages.end_words(evicted) == "Evicted: The node was low on resource: memory."
    deleted = PodState.from_json(pod_json(phase="Running"), deleted=True)
    assert deleted.ended and "deleted (not by this server)" in messages.end_words(deleted)


@pytest.mark.parametrize(("trait", "value"), [
    ("k8s_image_pull_policy", "Sometimes"), ("k8s_namespace", "Not_A_Label"),
    ("k8s_api_timeout", 0), ("k8s_resources", {"request": {"cpu": "1"}}),
    ("k8s_grace_period", -1), ("k8s_server_id", "no spaces allowed"),
])  # fmt: skip
def test_bad_settings_are_refused(trait, value):
    with pytest.raises((TraitError, ValueError)):
        K8sProvisioner(**{trait: value})


@pytest.mark.parametrize("class_name", [
    "k8s", "kubernetes", "enterprise_gateway.services.processproxies.k8s.KubernetesProcessProxy"])
def test_k8s_and_kubernetes_name_the_backend(class_name):
    spec = KernelSpec(argv=["python3", "{launcher}"], display_name="k", language="python",
                      metadata={"process_proxy": {"class_name": class_name,
                                                  "config": {"k8s_image": "img:1"}}})
    translated = translate_kernelspec("k", spec)
    stanza = translated.metadata["kernel_provisioner"]
    assert stanza == {"provisioner_name": "jrk-k8s-provisioner", "config": {"k8s_image": "img:1"}}


def test_an_unknown_k8s_setting_is_named():
    spec = KernelSpec(argv=["python3", "{launcher}"], display_name="k", language="python",
                      metadata={"process_proxy": {"class_name": "kubernetes",
                                                  "config": {"k8s_imag": "img:1"}}})
    with pytest.raises(KernelspecError, match="k8s_imag"):
        translate_kernelspec("k", spec)


def test_a_missing_kubeconfig_is_a_clear_error(tmp_path):
    missing = tmp_path / "nope.kubeconfig"
    k8s = K8sClient(kubeconfig=str(missing), context="", in_cluster=False, timeout=5,
                    log=logging.getLogger("test"))  # fmt: skip
    with pytest.raises(K8sError, match=f"no such file: {missing}.*k8s_kubeconfig"):
        asyncio.run(k8s.api())


def test_the_pod_ip_comes_from_the_launchers_callback_and_stays():
    """The kubelet reports a pod's IP on its own time (seen seconds after the launcher's
    callback on a loaded machine): the callback's address fills the placement's ``pod_ip``
    at ready, and the watch's later updates without an IP keep it (the real-cluster test
    asserts it at ready; this one makes the watch late on demand)."""
    p = K8sProvisioner()
    p.namespace, p.job_id = "default", "jrk-1"
    p.placement.set_details({"pod": "jrk-1", "namespace": "default", "node": None,
                             "pod_ip": None})  # fmt: skip
    no_ip = PodState.from_json(pod_json(phase="Pending", node="n1"))
    p.show_job(no_ip)
    assert p.placement.details["pod_ip"] is None
    assert p.connect_ip({"ip": "10.244.0.7", "host": "jrk-1"}) == "10.244.0.7"
    assert p.placement.details["pod_ip"] == "10.244.0.7"
    p.show_job(no_ip)
    assert p.placement.details == {"pod": "jrk-1", "namespace": "default", "node": "n1",
                                   "pod_ip": "10.244.0.7"}  # fmt: skip
    # A wildcard in the callback: the watch's address, if any.
    assert p.connect_ip({"ip": "0.0.0.0"}) == "10.244.0.7"
    # Another pod of the kernel (a restart) does not inherit it.
    p.show_job(PodState.from_json({**pod_json(phase="Pending"), "metadata": {"name": "jrk-2"}}))
    assert p.placement.details["pod_ip"] is None
