"""Pure parts of the warm pools: which requests a pool serves, retry back-off, models,
the hand-out's values, pool_size in kernelspecs."""

from __future__ import annotations

import json
import time

import pytest
from jupyter_client.kernelspec import KernelSpec

from jupyter_remote_kernels.errors import KernelspecError
from jupyter_remote_kernels.kernelspecs import translate_kernelspec
from jupyter_remote_kernels.pools import PoolKey, WarmPool
from jupyter_remote_kernels.pools.pools import launch_names
from jupyter_remote_kernels.pools.refusals import load_refusal
from jupyter_remote_kernels.provisioning.pooling import handout_env
from jupyter_remote_kernels.slurm.provisioner import SlurmProvisioner
from jupyter_remote_kernels.ssh.provisioner import SSHProvisioner


def spec(config: dict, argv=None, env=None) -> KernelSpec:
    return KernelSpec(
        argv=argv or ["python", "{launcher}", "--response-address", "{response_address}"],
        display_name="x",
        language="python",
        env=env or {},
        metadata={"process_proxy": {"class_name": "local", "config": config}},
    )


def test_pool_size_leaves_the_provisioner_config_for_the_pool():
    translated = translate_kernelspec("k", spec({"pool_size": 3, "launch_timeout": 9}))
    assert translated.metadata["jrk_pool"] == {"pool_size": 3}
    assert translated.metadata["kernel_provisioner"]["config"] == {"launch_timeout": 9}
    assert "jrk_pool" not in translate_kernelspec("k", spec({})).metadata


@pytest.mark.parametrize("bad", [-1, "2", 1.5, True])
def test_a_bad_pool_size_names_the_field_and_what_is_valid(bad):
    with pytest.raises(KernelspecError) as info:
        translate_kernelspec("k", spec({"pool_size": bad}))
    assert "process_proxy.config.pool_size" in str(info.value)
    assert "0 or more" in str(info.value)


def test_requests_that_change_placement_are_not_served():
    pool = WarmPool(PoolKey("k", "u"))
    pool.launch_env_names = launch_names(SSHProvisioner, spec({}))
    assert pool.serves({"KERNEL_WORKING_DIR": "/tmp", "JPY_SESSION_NAME": "a.ipynb"})
    assert pool.serves({"KERNEL_REMOTE_HOST": ""})  # empty: no choice made
    assert not pool.serves({"KERNEL_REMOTE_HOST": "node-2"})
    slurm = launch_names(SlurmProvisioner, spec({}))
    assert {"KERNEL_SLURM_PARTITION", "KERNEL_SLURM_GPUS", "KERNEL_SLURM_TIME"} <= slurm


def test_kernel_names_the_kernelspec_mentions_need_a_fresh_kernel():
    argv = ["sh", "run.sh", "--queue", "${KERNEL_QUEUE}", "{kernel_id}", "KERNEL_ID"]
    names = launch_names(SSHProvisioner, spec({}, argv=argv, env={"X": "$KERNEL_DEPT"}))
    assert {"KERNEL_QUEUE", "KERNEL_DEPT", "KERNEL_REMOTE_HOST"} <= names
    assert "KERNEL_ID" not in names and "KERNEL_USERNAME" not in names


def test_handout_values_are_kernel_and_jpy_values_but_never_the_id():
    env = {"KERNEL_X": "1", "JPY_SESSION_NAME": "a", "PATH": "/bin", "KERNEL_ID": "other"}
    assert handout_env(env) == {"KERNEL_X": "1", "JPY_SESSION_NAME": "a"}


def test_failures_back_off_and_show_until_a_launch_succeeds():
    pool = WarmPool(PoolKey("k", "u"))
    pool.target = 2
    assert pool.status() == "filling" and pool.missing == 2
    pool.failed("queue full", 10.0)
    first = pool.retry_at - time.monotonic()
    pool.failed("queue full", 10.0)
    second = pool.retry_at - time.monotonic()
    assert 9 < first <= 10 and 19 < second <= 20
    for _ in range(10):
        pool.failed("queue full", 10.0)
    assert pool.retry_at - time.monotonic() <= 300  # at most 30 times the interval
    model = pool.model()
    assert model["status"] == "failing" and model["detail"] == "queue full"
    pool.filled(object())
    pool.filled(object())
    assert pool.model()["status"] == "full" and pool.model()["detail"] == ""
    assert pool.failures == 0 and pool.missing == 0


def test_refusal_only_for_a_kernelspec_asking_for_a_pool(tmp_path):
    def spec_dir(name, spec):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "kernel.json").write_text(json.dumps(spec))
        return str(folder)

    error = ValueError("Kernelspec 'x': bad value for 'metadata.process_proxy.config.a'.")
    plain = spec_dir("plain", {"argv": ["python"], "display_name": "P"})
    assert load_refusal("plain", plain, error, default_size=2) is None
    placed = {"argv": ["python"], "display_name": "K",
              "metadata": {"process_proxy": {"class_name": "k8s",
                                             "config": {"k8s_resources": "@@RESOURCES@@"}}}}
    folder = spec_dir("k", placed)
    assert load_refusal("k", folder, error, default_size=0) is None  # no pool asked for
    refused = load_refusal("k", folder, error, default_size=2)
    assert (refused.display_name, refused.target) == ("K", 2)
    assert refused.error.startswith("Kernelspec 'x': bad value for 'metadata.process_proxy")
    assert f"{folder}/kernel.json" in refused.error and "(@@RESOURCES@@)" in refused.error
    model = refused.model("alice")
    assert (model["status"], model["user"], model["ready"]) == ("failing", "alice", 0)
    # pool_size 0 asks for no pool, whatever the server's default; an unfilled one asks.
    for name, size, expected in (("zero", 0, None), ("unfilled", "@@POOL_SIZE@@", 1)):
        config = {"k8s_resources": "@@RESOURCES@@", "pool_size": size}
        asked = spec_dir(name, {**placed, "metadata": {"process_proxy": {
            "class_name": "k8s", "config": config}}})  # fmt: skip
        refused = load_refusal(name, asked, error, default_size=0)
        assert (refused and refused.target) == expected, name
