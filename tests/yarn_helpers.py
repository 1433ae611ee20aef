"""Helpers shared by test modules."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
import websocket

from jupyter_remote_kernels.cli import fill_template
from testing.yarn_emulator.submit import AM, escape_for_shell

from .kernels import ws_execute
from .server_process import ServerProcess

REPO = Path(__file__).resolve().parent.parent


WS = "/ws/v1/cluster"


POLL = 0.3


def submitter_script(folder: Path, body: str = "") -> str:
    """An executable that runs the emulator's submit stand-in (what spark-submit would be)."""
    script = folder / "submit.sh"
    script.write_text(
        "#!/bin/sh\n"
        f"cd {REPO}\n" + body + f'exec {sys.executable} -m testing.yarn_emulator.submit "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def install_yarn_spec(kernels_dir: Path, name: str, endpoint: str, submitter: str, **config):
    """The emulator's kernelspec template (the submit stand-in's options), filled."""
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
    spec = fill_template(REPO / "testing" / "yarn_emulator" / "kernelspec", fields, folder)
    spec["metadata"]["process_proxy"]["config"].update({"yarn_poll_interval": POLL, **config})
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec


async def start(jp_fetch, name):
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": name}))
    return json.loads(response.body)


def app_of(rm, app_id):
    return requests.get(f"{rm.url}{WS}/apps/{app_id}", timeout=5).json()["app"]


def wait_for(predicate, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def wait_state(rm, app_id, *states, timeout=10.0):
    return wait_for(
        lambda: (a := app_info(rm, app_id))["state"] in states and a,
        timeout,
        what=f"{app_id} in {states}",
    )


def rest_submit(
    rm,
    command,
    *,
    tags=(),
    name="app",
    queue="default",
    max_attempts=None,
    user="alice",
    app_type="SPARK",
    env=None,
    am=True,
):
    """Submit ``command`` over REST, behind the stand-in AM (am.py) unless ``am`` is False:
    only an AM's registration makes the application RUNNING."""
    if am:
        command = " ".join(
            escape_for_shell(w) for w in (sys.executable, AM, "--", "bash", "-c", command)
        )
    params = {"user.name": user}
    new = requests.post(f"{rm.url}{WS}/apps/new-application", params=params, timeout=5)
    assert new.status_code == 200
    app_id = new.json()["application-id"]
    ctx = {
        "application-id": app_id,
        "application-name": name,
        "queue": queue,
        "application-type": app_type,
        "am-container-spec": {
            "commands": {"command": command},
            "environment": {"entry": [{"key": k, "value": v} for k, v in (env or {}).items()]},
        },
        "application-tags": {"tag": list(tags)},
    }
    if max_attempts is not None:
        ctx["max-app-attempts"] = max_attempts
    r = requests.post(f"{rm.url}{WS}/apps", params=params, json=ctx, timeout=5)
    assert r.status_code == 202, r.text
    assert r.content == b""
    assert r.headers["Location"].endswith(f"{WS}/apps/{app_id}")
    return app_id


FINAL = ("FINISHED", "KILLED", "FAILED")


# Spark JVMs on 2 shared cores: generous, never a measure of speed (that is benchmarks/).
LAUNCH_TIMEOUT = 300


# A user's first cell, run at once when the kernel is ready: `spark` exists from the
# kernel's first answer in lazy mode too (it waits for the session on first use).
SPARK_COUNT = "print(spark.range(1000).count())\n"


def install_spark_spec(yarn, base: Path, name: str, *, mode: str = "lazy", **options) -> Path:
    """``jupyter remote-kernels install yarn`` as an admin runs it, into the server's path."""
    source = yarn.install_spark_kernelspec(
        base / "prefix",
        name,
        queue=options.pop("queue", "default"),
        python=options.pop("python", sys.executable),
        launch_timeout=options.pop("launch_timeout", LAUNCH_TIMEOUT),
    )
    target = base / "data" / "kernels" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    source.rename(target)
    spec = json.loads((target / "kernel.json").read_text())
    argv = spec["argv"]
    argv[argv.index("--spark-context-initialization-mode") + 1] = mode
    spec["metadata"]["process_proxy"]["config"]["yarn_poll_interval"] = 0.5
    (target / "kernel.json").write_text(json.dumps(spec, indent=1))
    return target


def start_waiting(
    server: ServerProcess, name: str, timeout: float = 300
) -> tuple[threading.Thread, list]:
    """POST /api/kernels for kernelspec ``name`` in a thread (a start that waits on the
    cluster while the test looks at it); the thread and the list its response lands in."""
    outcome: list = []
    thread = threading.Thread(
        target=lambda: outcome.append(
            server.request("POST", "/api/kernels", {"name": name}, timeout=timeout)
        )
    )
    thread.start()
    return thread, outcome


def start_kernel(server: ServerProcess, name: str, **env: str) -> dict:
    body = {"name": name, "env": env} if env else {"name": name}
    r = server.request("POST", "/api/kernels", body, timeout=LAUNCH_TIMEOUT + 60)
    assert r.status_code == 201, r.text
    return r.json()


def leftovers(yarn) -> list:
    """Container processes of this cluster still running on any host (after a grace)."""
    wait_for(lambda: not yarn.container_processes(), 60)
    return yarn.container_processes()


def assert_ended(yarn, app_id: str) -> dict:
    app = wait_for(lambda: (a := yarn.app(app_id))["state"] in FINAL and a, 60)
    assert app, yarn.app(app_id)
    assert app["state"] in ("KILLED", "FINISHED"), app
    return app


SPARK_EXECUTORS = (
    "import json, os, socket\n"
    "_sc = spark.sparkContext\n"
    "_tasks = _sc.parallelize(range(8), 8).map(lambda _: (socket.gethostname(),\n"
    "    os.environ.get('CONTAINER_ID'), os.getpid())).distinct().collect()\n"
    "print(json.dumps({\n"
    "    'driver': [socket.gethostname(), os.environ.get('CONTAINER_ID'), os.getpid(),\n"
    "               _sc.getConf().get('spark.driver.host')],\n"
    "    'executors': [[e.host(), e.port()] for e in\n"
    "                  _sc._jsc.sc().statusTracker().getExecutorInfos()],\n"
    "    'executor_ids': [i for i in _sc._jsc.sc().getExecutorIds().mkString(',')\n"
    "                     .split(',') if i],\n"
    "    'tasks': _tasks}))\n"
)


def rm_containers(yarn, app_id: str) -> list[dict]:
    """The RM's containers of the application's current attempt (RMWebServices'
    ``apps/{id}/appattempts/{attempt}/containers``)."""
    status, body = yarn.rest(f"apps/{app_id}/appattempts")
    assert status == 200, (status, body)
    attempt = body["appAttempts"]["appAttempt"][-1]["appAttemptId"]
    status, body = yarn.rest(f"apps/{app_id}/appattempts/{attempt}/containers")
    assert status == 200, (status, body)
    found = (body or {}).get("container") or ((body or {}).get("containers") or {})
    found = found.get("container", found) if isinstance(found, dict) else found
    return [found] if isinstance(found, dict) else list(found or [])


def assert_spark_on_executors(server: ServerProcess, kernel_id: str, yarn, app_id: str) -> dict:
    """Spark work of the kernel really runs on executors: Spark's status tracker lists
    executors besides the driver, on NodeManager hosts; tasks ran in YARN containers of the
    application other than the driver's (not in the driver's own process), and the RM
    lists those containers for the application. Returns what was seen."""
    out = ws_execute(server, kernel_id, SPARK_EXECUTORS, timeout=LAUNCH_TIMEOUT)
    seen = json.loads(out.strip().splitlines()[-1])
    driver_name, driver_container, driver_pid, driver_host = seen["driver"]
    nm_names = {h.hostname for h in yarn.hosts} | {h.address for h in yarn.hosts}
    # executors (SparkContext.getExecutorIds(): never the driver) besides the driver, which
    # is one of the status tracker's entries; all of them on NodeManager hosts
    assert seen["executor_ids"] and "driver" not in seen["executor_ids"], seen
    assert len(seen["executors"]) == len(seen["executor_ids"]) + 1, seen
    assert {host for host, _ in seen["executors"]} <= nm_names | {driver_host}, (seen, nm_names)
    app_prefix = "container_" + app_id.split("_", 1)[1] + "_"
    assert driver_container and driver_container.startswith(app_prefix), seen
    task_containers = {c for _, c, _ in seen["tasks"]}
    assert task_containers and driver_container not in task_containers, seen
    assert all(c and c.startswith(app_prefix) for c in task_containers), seen
    assert driver_pid not in {pid for _, _, pid in seen["tasks"]}, seen
    assert {name for name, _, _ in seen["tasks"]} <= nm_names, (seen, nm_names)
    listed = {c.get("containerId") for c in rm_containers(yarn, app_id)}
    assert task_containers <= listed and driver_container in listed, (seen, listed)
    seen["other_hosts_than_the_driver"] = sorted(
        {name for name, _, _ in seen["tasks"]} - {driver_name}
    )
    print(f"spark on executors: {seen}")
    return seen


def interrupt_sleep(
    server: ServerProcess,
    kernel_id: str,
    *,
    interrupts: int = 1,
    every: float = 20.0,
    wait: float | None = None,
) -> dict:
    """Run ``time.sleep(120)``, interrupt it through the REST API (HTTP 204); the
    execute_reply's content plus ``interrupts_sent`` and ``seconds`` (from the first
    interrupt to the reply).

    With ``interrupts`` > 1 the interrupt is sent again (as a user presses the button again)
    when no reply came ``every`` seconds after the last one. With ``wait``, a reply that has
    not come ``wait`` s after the last interrupt is given up: the content is then empty (a
    caller that shows evidence of a lost interrupt); else that raises TimeoutError. Our own
    launcher must answer the first (the default).
    """
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels",
        header=[f"Authorization: token {server.token}"],
        timeout=60,
    )
    ws.settimeout(1.0)
    try:
        msg_id = f"sleep-{time.monotonic_ns()}"
        header = {"msg_id": msg_id, "msg_type": "execute_request", "username": "t",
                  "session": "s", "date": "", "version": "5.3"}  # fmt: skip
        content = {"code": "import time; time.sleep(120)", "silent": False,
                   "stop_on_error": False}  # fmt: skip
        ws.send(json.dumps({"header": header, "parent_header": {}, "metadata": {},
                            "channel": "shell", "buffers": [], "content": content}))  # fmt: skip
        sent, first, last, deadline = 0, 0.0, 0.0, time.monotonic() + 90
        while time.monotonic() < deadline:
            if sent and wait is not None and time.monotonic() - last > wait:
                return {"interrupts_sent": sent, "seconds": time.monotonic() - first}
            if sent and sent < interrupts and time.monotonic() - last > every:
                sent, last = sent + 1, interrupt(server, kernel_id)
            try:
                msg = json.loads(ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "execute_input" and not sent:
                sent, first = 1, interrupt(server, kernel_id)
                last = first
            if msg["msg_type"] == "execute_reply":
                seconds = time.monotonic() - first
                return {**msg["content"], "interrupts_sent": sent, "seconds": seconds}
        if not sent:
            raise AssertionError("the sleep never started")
        raise TimeoutError(f"no execute_reply after {sent} interrupt(s)")
    finally:
        ws.close()


def interrupt(server: ServerProcess, kernel_id: str) -> float:
    """POST .../interrupt (must answer 204); when it was sent."""
    r = server.request("POST", f"/api/kernels/{kernel_id}/interrupt")
    assert r.status_code == 204, r.text
    return time.monotonic()


def app_info(rm, app_id):
    return requests.get(f"{rm.url}{WS}/apps/{app_id}", timeout=5).json()["app"]


async def placement_of(jp_fetch, kernel_id=None):
    """The models of GET /api/remote-kernels (only `kernel_id`'s when given)."""
    response = await jp_fetch("api", "remote-kernels", method="GET")
    models = json.loads(response.body)
    return [m for m in models if kernel_id is None or m["kernel_id"] == kernel_id]


# -- the YARN emulator's tests: its submit command, AM processes
def run_submit(*args, env=None):
    """Run the emulator's submit command with `args`; its stdout (the application id)."""
    out = subprocess.run(
        [sys.executable, "-m", "testing.yarn_emulator.submit", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


# "sleep 300" behind the stand-in AM, which registers (an AM-less command stays ACCEPTED).
AM_SLEEP = " ".join(escape_for_shell(w) for w in (sys.executable, AM, "--", "sleep", "300"))


def proc_stat(pid):
    """(state, process group) of `pid` from /proc, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[2])  # state, pgrp


def gone(pid):
    """No such process, or only a zombie (orphans wait for PID 1 to reap them,
    and this container's PID 1 may never do it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    st = proc_stat(pid)
    return st is None or st[0] == "Z"


def group_gone(pgid):
    """No live (non-zombie) process left in the process group."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = proc_stat(entry.name)
            if st and st[1] == pgid and st[0] != "Z":
                return False
    return True
