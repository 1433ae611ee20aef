"""Enterprise Gateway's own launcher: refused with a clear error unless explicitly allowed."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from .kernels import KernelSession, eg_argv, pids_mentioning, wait_until, write_kernelspec

STANDIN = str(Path(__file__).with_name("eg_launcher_standin.py"))
EG_LOCAL = "enterprise_gateway.services.processproxies.processproxy.LocalProcessProxy"


def eg_spec(kernels_dir: Path) -> None:
    write_kernelspec(
        kernels_dir,
        "eg_launcher",
        {
            "argv": eg_argv(STANDIN, python=sys.executable),
            "metadata": {"process_proxy": {"class_name": EG_LOCAL}},
        },
    )


async def test_eg_launcher_refused_by_default(jp_fetch, jp_kernel_dir):
    eg_spec(jp_kernel_dir)
    standin_kernels = f"ipykernel_launcher -f {tempfile.gettempdir()}/kernel-"
    before = set(pids_mentioning(standin_kernels))
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "eg_launcher"}))
    message = json.loads(info.value.response.body)["message"]
    assert "Enterprise Gateway's launcher" in message
    assert "ResponseListener.allow_legacy_launchers" in message
    assert "jupyter remote-kernels migrate" in message
    assert await wait_until(lambda: not pids_mentioning(STANDIN), timeout=10)
    assert await wait_until(lambda: set(pids_mentioning(standin_kernels)) <= before, timeout=10)


class TestAllowed:
    @pytest.fixture
    def jp_server_config(self):
        return {
            "ServerApp": {"jpserver_extensions": {"jupyter_remote_kernels": True}},
            "ResponseListener": {"allow_legacy_launchers": True},
        }

    async def test_eg_launcher_works_when_allowed(self, jp_fetch, jp_ws_fetch, jp_kernel_dir):
        eg_spec(jp_kernel_dir)
        response = await jp_fetch(
            "api", "kernels", method="POST", body=json.dumps({"name": "eg_launcher"})
        )
        kernel_id = json.loads(response.body)["id"]
        session = await KernelSession.open(jp_ws_fetch, kernel_id)
        assert (await session.execute("print('legacy ok')"))["stdout"] == "legacy ok\n"
        msg_id = await session.send_execute("import time; time.sleep(60)")
        await session.wait_started(msg_id)
        await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
        assert (await session.wait_reply(msg_id))["ename"] == "KeyboardInterrupt"
        session.close()
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")
        assert await wait_until(lambda: not pids_mentioning(STANDIN), timeout=10)
        assert not pids_mentioning("ipykernel_launcher -f /tmp/kernel-" + kernel_id)
