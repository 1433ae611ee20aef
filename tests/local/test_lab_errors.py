"""What the lab shows when a kernel start fails: the start's own status and a readable message.

JupyterLab opens notebooks through ``POST /api/sessions`` and shows the answer's ``message``
in its "Error Starting Kernel" dialog (a ``traceback`` goes into a collapsed part).
"""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_remote_kernels.local import LocalLauncherProvisioner

from ..kernels import write_kernelspec

LAUNCHER_ARGV = ["python", "{launcher}", "--kernel-id", "{kernel_id}",
                 "--response-address", "{response_address}"]


async def start_error(jp_fetch, api: str, name: str) -> tuple[int, dict]:
    if api == "sessions":
        body = {"path": "nb.ipynb", "type": "notebook", "kernel": {"name": name}}
    else:
        body = {"name": name}
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("api", api, method="POST", body=json.dumps(body))
    return info.value.code, json.loads(info.value.response.body)


@pytest.mark.parametrize("api", ["kernels", "sessions"])
async def test_bad_kernelspec_keeps_its_400(jp_fetch, jp_kernel_dir, api):
    write_kernelspec(jp_kernel_dir, "broken", {
        "argv": LAUNCHER_ARGV,
        "metadata": {"process_proxy": {"class_name": "local", "config": {"port_range": "x"}}},
    })
    code, body = await start_error(jp_fetch, api, "broken")
    assert code == 400
    assert body["message"].startswith("Kernelspec 'broken'")
    assert body["reason"] == "KernelspecError"
    assert not body.get("traceback")


@pytest.mark.parametrize("api", ["kernels", "sessions"])
async def test_crashing_launcher_is_a_readable_500(jp_fetch, jp_kernel_dir, api):
    write_kernelspec(jp_kernel_dir, "crashy", {
        "argv": ["python", "-c", "import sys; sys.exit('no ipykernel here')",
                 "{response_address}"],
        "metadata": {"process_proxy": {"class_name": "local"}},
    })
    code, body = await start_error(jp_fetch, api, "crashy")
    assert code == 500
    assert "exited with code 1 before calling back" in body["message"]
    assert "no ipykernel here" in body["message"]
    assert not body["message"].startswith("HTTP ")
    assert body["reason"] == "LaunchError"
    assert not body.get("traceback")


@pytest.mark.parametrize("api", ["kernels", "sessions"])
async def test_unexpected_error_is_a_readable_500(jp_fetch, kernels_dir, monkeypatch, api):

    async def broken(self, *args, **kwargs):
        raise RuntimeError("the provisioner tripped")

    monkeypatch.setattr(LocalLauncherProvisioner, "pre_launch", broken)
    code, body = await start_error(jp_fetch, api, "remote-python")
    assert code == 500
    assert "RuntimeError: the provisioner tripped" in body["message"]
    assert body["message"] != "Unhandled error"
    assert not body.get("traceback")
