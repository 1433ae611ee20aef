"""Enterprise Gateway kernelspecs with LocalProcessProxy run unchanged."""

from __future__ import annotations

import json

import pytest

from ..kernels import EG_LAUNCHER_ARGV, KernelSession, pids_mentioning, wait_until, write_kernelspec

EG_LOCAL = "enterprise_gateway.services.processproxies.processproxy.LocalProcessProxy"


@pytest.mark.parametrize(
    ("argv", "kind"),
    [
        # EG's own local specs: a plain kernel, no launcher
        (["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"], "plain"),
        # our launcher, with EG's option spellings and placeholders
        (EG_LAUNCHER_ARGV, "local"),
    ],
)
async def test_eg_local_process_proxy_spec(jp_fetch, jp_ws_fetch, jp_kernel_dir, argv, kind):
    write_kernelspec(
        jp_kernel_dir,
        "eg_local",
        {
            "argv": argv,
            "display_name": "EG local",
            "metadata": {"process_proxy": {"class_name": EG_LOCAL}},
        },
    )
    response = await jp_fetch(
        "api", "kernels", method="POST", body=json.dumps({"name": "eg_local"})
    )
    model = json.loads(response.body)
    kernel_id = model["id"]
    assert model["placement"]["kind"] == kind
    assert model["placement"]["phase"] == "ready"
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute("import os; print(os.getpid())")
    assert reply["status"] == "ok"
    kernel_pid = int(reply["stdout"])
    if kind == "local":
        assert model["placement"]["pid"] == kernel_pid
    msg_id = await session.send_execute("import time; time.sleep(60)")
    await session.wait_started(msg_id)
    await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
    assert (await session.wait_reply(msg_id))["ename"] == "KeyboardInterrupt"
    session.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert await wait_until(lambda: not pids_mentioning(kernel_id))


async def test_eg_port_range_config_is_applied(jp_fetch, jp_kernel_dir, jp_serverapp):
    write_kernelspec(
        jp_kernel_dir,
        "eg_ranged",
        {
            "argv": EG_LAUNCHER_ARGV,
            "metadata": {
                "process_proxy": {"class_name": EG_LOCAL, "config": {"port_range": "40000..40100"}}
            },
        },
    )
    response = await jp_fetch(
        "api", "kernels", method="POST", body=json.dumps({"name": "eg_ranged"})
    )
    model = json.loads(response.body)
    kernels = json.loads((await jp_fetch("api", "kernels")).body)
    assert kernels[0]["id"] == model["id"]
    km = jp_serverapp.kernel_manager.get_kernel(model["id"])
    ports = [v for k, v in km.get_connection_info().items() if k.endswith("_port")]
    assert all(40000 <= p <= 40100 for p in ports), ports
    await jp_fetch("api", "kernels", model["id"], method="DELETE")
