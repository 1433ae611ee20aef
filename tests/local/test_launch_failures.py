"""Launches that fail: a clear error within the launch timeout, and nothing left behind."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_remote_kernels.local import LocalLauncherProvisioner

from ..abuse import COUNTS
from ..kernels import (
    launcher_argv,
    local_spec,
    pids_mentioning,
    slow_start_spec,
    wait_until,
    write_kernelspec,
)


async def post_error(jp_fetch, name) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": name}))
    return info.value.code, json.loads(info.value.response.body)


async def test_launcher_crashing_before_callback(jp_fetch, jp_kernel_dir, jp_serverapp):
    marker = f"crash-{uuid.uuid4().hex}"
    write_kernelspec(
        jp_kernel_dir,
        "crashy",
        {
            "argv": [
                "python",
                "-c",
                "import sys; sys.stderr.write('boom: no ipykernel here\\n'); sys.exit(3)",
                marker,
                "{response_address}",
            ],
            "metadata": {
                "process_proxy": {"class_name": "local", "config": {"launch_timeout": 30}}
            },
        },
    )
    started = time.monotonic()
    code, body = await post_error(jp_fetch, "crashy")
    assert time.monotonic() - started < 10
    assert code == 500
    assert "exited with code 3 before calling back" in body["message"]
    assert "boom: no ipykernel here" in body["message"]
    assert "Traceback" not in body["message"]
    assert not pids_mentioning(marker)
    models = json.loads((await jp_fetch("api", "remote-kernels")).body)
    assert models == []


async def test_launcher_that_never_calls_back_times_out(jp_fetch, jp_kernel_dir):
    marker = f"silent-{uuid.uuid4().hex}"
    write_kernelspec(
        jp_kernel_dir,
        "silent",
        {
            "argv": ["python", "-c", "import time; time.sleep(300)", marker, "{response_address}"],
            "metadata": {"process_proxy": {"class_name": "local", "config": {"launch_timeout": 2}}},
        },
    )
    assert await wait_until(lambda: not pids_mentioning(marker))
    started = time.monotonic()
    code, body = await post_error(jp_fetch, "silent")
    assert 2 <= time.monotonic() - started < 15
    assert code == 504
    assert "did not call back within 2 s" in body["message"]
    assert "launch_timeout" in body["message"]
    assert await wait_until(lambda: not pids_mentioning(marker), timeout=5)


async def test_kernel_dying_before_ready_reports_its_error(jp_fetch, jp_kernel_dir):
    write_kernelspec(
        jp_kernel_dir,
        "badclass",
        local_spec(launcher_argv("--kernel-class-name", "no.such.KernelClass")),
    )
    code, body = await post_error(jp_fetch, "badclass")
    assert code == 500
    assert "exited with code" in body["message"]
    assert "no.such" in body["message"] or "No module named" in body["message"]


async def test_launch_timeout_from_start_request_env(jp_fetch, jp_kernel_dir):
    marker = f"slow-{uuid.uuid4().hex}"
    write_kernelspec(
        jp_kernel_dir,
        "slowpoke",
        {
            "argv": ["python", "-c", "import time; time.sleep(300)", marker, "{response_address}"],
            "metadata": {"process_proxy": {"class_name": "local"}},
        },
    )
    body = {"name": "slowpoke", "env": {"KERNEL_LAUNCH_TIMEOUT": "1"}}
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("api", "kernels", method="POST", body=json.dumps(body))
    assert info.value.code == 504
    assert await wait_until(lambda: not pids_mentioning(marker), timeout=5)


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (
            {"process_proxy": {"class_name": "nope.NoProxy"}},
            "unknown metadata.process_proxy.class_name 'nope.NoProxy'",
        ),
        (
            {"process_proxy": {"class_name": "local", "config": {"port_range": "abc"}}},
            "bad value for 'metadata.process_proxy.config.port_range'",
        ),
        (
            {"process_proxy": {"class_name": "local", "config": {"launch_timeout": -4}}},
            "bad value for 'metadata.process_proxy.config.launch_timeout'",
        ),
        (
            {"process_proxy": {"class_name": "local", "config": {"remote_hostz": "a"}}},
            "unknown field 'metadata.process_proxy.config.remote_hostz'",
        ),
        (
            {"process_proxy": {"class_name": "local", "config": ["x"]}},
            "metadata.process_proxy.config must be an object",
        ),
        ({"process_proxy": "local"}, "metadata.process_proxy must be an object"),
        (
            {"kernel_provisioner": {"provisioner_name": "no-such-provisioner"}},
            "provisioner 'no-such-provisioner' is not installed",
        ),
        (
            {
                "process_proxy": {"class_name": "local"},
                "kernel_provisioner": {"provisioner_name": "jrk-local-provisioner"},
            },
            "has both metadata.process_proxy and metadata.kernel_provisioner",
        ),
        ({"process_proxy": {"class_name": None}}, "unknown metadata.process_proxy.class_name"),
        (
            {"process_proxy": {"class_name": "local", "config": {"launch_timeout": "soon"}}},
            "bad value for 'metadata.process_proxy.config.launch_timeout'",
        ),
        (
            {"process_proxy": {"class_name": "local", "config": {"port_range": "9..1"}}},
            "bad value for 'metadata.process_proxy.config.port_range'",
        ),
        (
            {"process_proxy": {"class_name": "local", "config": {"kernel_class_name": 5}}},
            "bad value for 'metadata.process_proxy.config.kernel_class_name'",
        ),
        (
            {"process_proxy": {"class_name": "local", "config": {"comm_timeout": 0}}},
            "bad value for 'metadata.process_proxy.config.comm_timeout'",
        ),
        (
            {"kernel_provisioner": {"config": {}}},
            "metadata.kernel_provisioner.provisioner_name is missing",
        ),
        (
            {"process_proxy": {"class_name": "ssh", "config": {"remote_hosts": 5}}},
            "bad value for 'metadata.process_proxy.config.remote_hosts'",
        ),
        (
            {"process_proxy": {"class_name": "yarn", "config": {"yarn_poll_interval": "x"}}},
            "bad value for 'metadata.process_proxy.config.yarn_poll_interval'",
        ),
    ],
)
async def test_bad_kernelspec_is_a_clear_400(jp_fetch, jp_kernel_dir, metadata, expected):
    COUNTS["inputs"] += 1
    write_kernelspec(
        jp_kernel_dir,
        "broken",
        {"argv": launcher_argv(), "metadata": metadata},
    )
    code, body = await post_error(jp_fetch, "broken")
    assert code == 400
    assert "Kernelspec 'broken'" in body["message"]
    assert expected in body["message"]
    assert "traceback" not in body or not body["traceback"]


async def test_failure_after_the_kernel_is_up_leaves_nothing(jp_fetch, kernels_dir, monkeypatch):

    started = []

    async def failing_post_launch(self, **kwargs):
        started.append(str(self.kernel_id))
        raise RuntimeError("post-launch step failed")

    monkeypatch.setattr(LocalLauncherProvisioner, "post_launch", failing_post_launch)
    with pytest.raises(HTTPClientError):
        await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "remote-python"}))
    assert len(started) == 1
    assert await wait_until(lambda: not pids_mentioning(started[0]))


async def test_server_stop_during_a_launch(jp_fetch, jp_kernel_dir, jp_serverapp):
    marker = f"stopping-{uuid.uuid4().hex}"
    write_kernelspec(jp_kernel_dir, "slow-start", slow_start_spec(2, marker))
    start = asyncio.ensure_future(
        jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "slow-start"}))
    )
    assert await wait_until(lambda: pids_mentioning(marker), timeout=10)
    await jp_serverapp.kernel_manager.shutdown_all()
    with pytest.raises(HTTPClientError):
        await start
    assert await wait_until(lambda: not pids_mentioning(marker), timeout=10)
    assert json.loads((await jp_fetch("api", "remote-kernels")).body) == []
