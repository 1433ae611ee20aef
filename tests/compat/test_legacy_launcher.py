"""gateway_provisioners' real launcher (EG's lineage) on this machine: refused with a clear
error unless explicitly allowed; when allowed, start, execute, interrupt, restart and delete
work and leave nothing behind.

The launcher is the installed GP package's file, installed into a kernelspec folder by GP's
own ``jupyter-ssh-spec`` (see tests/gp.py); the kernelspec places it with EG's
``LocalProcessProxy``.
"""

from __future__ import annotations

import json
import sys

import pytest
from tornado.httpclient import HTTPClientError

from ..gp import gp_dir, install_spec
from ..kernels import KernelSession, pids_mentioning, wait_until, write_kernelspec

EG_LOCAL = "enterprise_gateway.services.processproxies.processproxy.LocalProcessProxy"


def gp_local_spec(kernels_dir, tmp_path) -> str:
    """A local kernelspec running GP's launcher; returns the launcher's path."""
    folder = gp_dir()
    spec_dir = install_spec(folder, "ssh", tmp_path / "gp", "gp_scripts")
    gp = json.loads((spec_dir / "kernel.json").read_text())
    launcher = gp["argv"][1]
    write_kernelspec(
        kernels_dir,
        "eg_launcher",
        {
            "argv": [sys.executable, *gp["argv"][1:]],
            "env": {"PYTHONPATH": str(folder)},
            "metadata": {"process_proxy": {"class_name": EG_LOCAL}},
        },
    )
    return launcher


async def test_eg_launcher_refused_by_default(jp_fetch, jp_kernel_dir, tmp_path):
    launcher = gp_local_spec(jp_kernel_dir, tmp_path)
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "eg_launcher"}))
    message = json.loads(info.value.response.body)["message"]
    assert "Enterprise Gateway's launcher" in message
    assert "ResponseListener.allow_legacy_launchers" in message
    assert "jupyter remote-kernels migrate" in message
    # GP's launcher is the kernel (and forks its listener): both are gone.
    assert await wait_until(lambda: not pids_mentioning(launcher), timeout=10)


class TestAllowed:
    @pytest.fixture
    def jp_server_config(self):
        return {
            "ServerApp": {"jpserver_extensions": {"jupyter_remote_kernels": True}},
            "ResponseListener": {"allow_legacy_launchers": True},
        }

    async def test_eg_launcher_works_when_allowed(
        self, jp_fetch, jp_ws_fetch, jp_kernel_dir, tmp_path
    ):
        launcher = gp_local_spec(jp_kernel_dir, tmp_path)
        response = await jp_fetch(
            "api", "kernels", method="POST", body=json.dumps({"name": "eg_launcher"})
        )
        model = json.loads(response.body)
        kernel_id = model["id"]
        assert model["placement"]["kind"] == "local"
        assert len(pids_mentioning(launcher)) == 2  # the kernel and its forked listener
        session = await KernelSession.open(jp_ws_fetch, kernel_id)
        assert (await session.execute("print('legacy ok')"))["stdout"] == "legacy ok\n"
        msg_id = await session.send_execute("import time; time.sleep(60)")
        await session.wait_started(msg_id)
        await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
        assert (await session.wait_reply(msg_id))["ename"] == "KeyboardInterrupt"
        session.close()
        before = set(pids_mentioning(launcher))
        await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
        assert await wait_until(lambda: not before & set(pids_mentioning(launcher)), timeout=5)
        session = await KernelSession.open(jp_ws_fetch, kernel_id)
        assert (await session.execute("print('again')"))["stdout"] == "again\n"
        session.close()
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")
        assert await wait_until(lambda: not pids_mentioning(launcher), timeout=5)
