"""YARN kernels through a real Jupyter Server and the RM emulator (real AM processes)."""

from __future__ import annotations

import asyncio
import json
import stat
import sys
import time
from pathlib import Path

import requests

from jupyter_remote_kernels.cli import fill_template

from .kernels import KernelSession, pids_mentioning, wait_until

REPO = Path(__file__).resolve().parent.parent
WS = "/ws/v1/cluster"
POLL = 0.3


def submitter_script(folder: Path, body: str = "") -> str:
    """An executable that runs the emulator's submit stand-in (what spark-submit would be)."""
    script = folder / "submit.sh"
    script.write_text(
        "#!/bin/sh\n"
        f"cd {REPO}\n" + body + f'exec {sys.executable} -m tests.yarn_emulator.submit "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def install_yarn_spec(kernels_dir: Path, name: str, endpoint: str, submitter: str, **config):
    """The shipped generic template, filled as `jupyter remote-kernels install yarn` does."""
    fields = {
        "DISPLAY_NAME": name,
        "SUBMITTER": submitter,
        "ENDPOINT": endpoint,
        "ALT_ENDPOINTS": config.pop("alt_yarn_endpoints", []),
        "QUEUE": config.pop("yarn_queue", "default"),
        "REMOTE_PYTHON": sys.executable,
        "REMOTE_LAUNCHER": "{launcher}",
    }
    folder = kernels_dir / name
    spec = fill_template("yarn", fields, folder)
    spec["metadata"]["process_proxy"]["config"].update({"yarn_poll_interval": POLL, **config})
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec


async def start(jp_fetch, name):
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": name}))
    return json.loads(response.body)


def app_of(rm, app_id):
    return requests.get(f"{rm.url}{WS}/apps/{app_id}", timeout=5).json()["app"]


async def test_lifecycle(yarn_rm, jp_fetch, jp_ws_fetch, kernels_dir, tmp_path, no_blocking):
    await asyncio.to_thread(
        install_yarn_spec, kernels_dir, "yarn-py", yarn_rm.url, submitter_script(tmp_path)
    )
    model = await start(jp_fetch, "yarn-py")
    kernel_id = model["id"]
    placement = model["placement"]
    print(placement)
    assert placement["kind"] == "yarn"
    assert placement["phase"] == "ready"
    app_id = placement["app_id"]
    assert app_id and placement["queue"] == "default" and placement["ip"] == "127.0.0.1"
    assert app_of(yarn_rm, app_id)["state"] == "RUNNING"

    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute("import os; print(os.environ['CONTAINER_ID'])")
    assert reply["status"] == "ok", reply
    assert app_id.replace("application", "container") in reply["stdout"]

    t0 = time.monotonic()
    response = await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    print("delete", time.monotonic() - t0)
    assert response.code == 204
    assert app_of(yarn_rm, app_id)["state"] == "KILLED"
    assert await wait_until(lambda: not pids_mentioning(kernel_id), timeout=5)
    assert yarn_rm.cluster.live_pids() == []
