"""gateway_provisioners' YARN kernelspec and real launcher on the real YARN cluster.

The kernelspec is written by GP's own ``jupyter-yarn-spec install`` and left as GP wrote it
but for what its installer cannot know about this cluster (Spark settings, HADOOP_CONF_DIR,
where GP's launcher finds its own imports); this package's yarn provisioner places it, with
``allow_legacy_launchers``. Spark's real AM registers only once GP's launcher creates a
SparkContext, so the spec uses GP's ``lazy`` mode. Restart and delete are timed against
this package's own Spark template on the same cluster, in the same run.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from testing.specs import pids_mentioning
from testing.yarncluster import spark_home

from ..gp import RATIO, SLACK, gp_dir, install_spec
from ..kernels import ws_execute
from ..server_process import ServerProcess
from ..yarn_helpers import (
    FINAL,
    LAUNCH_TIMEOUT,
    SPARK_COUNT,
    assert_ended,
    install_spark_spec,
    interrupt_sleep,
    leftovers,
    start_kernel,
)

#: What GP's listener logs when it takes a signal request (and has os.kill()ed the kernel).
LISTENER_GOT = "server_listener got request: {'signum': 2}"
SIGNAL_FIELDS = ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")


def signal_state(kernel_id: str) -> list[str]:
    """The kernel's launcher process (GP's launch_ipykernel.py runs ipykernel in itself) on
    its NodeManager host: per thread, its state, wait channel and signal masks (/proc)."""
    lines = []
    for pid in pids_mentioning(kernel_id):
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if "launch_ipykernel" not in cmd or "python" not in cmd:
            continue
        for task in sorted(Path(f"/proc/{pid}/task").iterdir(), key=lambda t: int(t.name)):
            try:
                status = dict(
                    line.split(":\t", 1)
                    for line in (task / "status").read_text().splitlines()
                    if ":\t" in line
                )
                wchan = (task / "wchan").read_text()
            except OSError:
                continue
            fields = " ".join(f"{k}={status.get(k, '?').strip()}" for k in SIGNAL_FIELDS)
            lines.append(
                f"pid {pid} task {task.name} ({status.get('Name', '?').strip()}) "
                f"{status.get('State', '?').strip()} wchan={wchan} {fields}"
            )
    return lines


def listener_log(yarn, app_id: str) -> list[str]:
    """GP's listener's lines about signal requests, from the app's container logs."""
    found = []
    for host in yarn.hosts:
        for f in (yarn.container_log_dir(host) / app_id).glob("*/*"):
            if f.is_file():
                text = f.read_text(errors="replace")
                found += [line for line in text.splitlines() if "server_listener got" in line]
    return found


def gp_yarn_spec(yarn, tmp_path: Path, data: Path) -> None:
    folder = gp_dir()
    prefix = tmp_path / "gp"
    scripts = prefix / "share" / "jupyter" / "kernels" / "gp_yarn" / "scripts"
    # GP's launcher's own imports (pycryptodomex, psutil) come from GP's folder.
    extra = yarn.kernelspec_spark_opts(**{"spark.yarn.appMasterEnv.PYTHONPATH": str(folder)})
    spec_dir = install_spec(
        folder, "yarn", prefix, "gp_yarn",
        "--spark-home", str(spark_home()), "--python-root", sys.prefix,
        "--spark-init-mode", "lazy", "--launch-timeout", str(LAUNCH_TIMEOUT),
        "--extra-spark-opts", f"--py-files {scripts / 'server_listener.py'} {extra}",
    )  # fmt: skip
    spec = json.loads((spec_dir / "kernel.json").read_text())
    assert spec["metadata"]["kernel_provisioner"]["provisioner_name"] == "yarn-provisioner"
    spec["env"].update(HADOOP_CONF_DIR=str(yarn.hadoop_conf_dir), JAVA_HOME=str(yarn.java_home))
    # A copy in the server's path: the original stays where --py-files points.
    target = data / "kernels" / "gp_yarn"
    shutil.copytree(spec_dir, target)
    (target / "kernel.json").write_text(json.dumps(spec, indent=1))


def test_gp_launcher_on_the_real_cluster(yarn_cluster, tmp_path):
    data = tmp_path / "data"
    gp_yarn_spec(yarn_cluster, tmp_path, data)
    install_spark_spec(yarn_cluster, tmp_path, "ours")
    server = ServerProcess(
        tmp_path,
        token="gp-yarn-real",
        extra_args=[
            "--ResponseListener.allow_legacy_launchers=True",
            f"--YarnProvisioner.yarn_endpoint={yarn_cluster.rm_url}",
            "--YarnProvisioner.yarn_poll_interval=0.5",
        ],
    ).start(timeout=60)
    timings: dict = {}
    lost: list[str] = []
    try:
        for name in ("gp_yarn", "ours"):
            model = start_kernel(server, name)
            kernel_id, app_id = model["id"], model["placement"]["details"]["app_id"]
            assert model["placement"]["kind"] == "yarn", model
            assert kernel_id in yarn_cluster.app(app_id)["applicationTags"].split(",")
            assert ws_execute(server, kernel_id, "x = 1; print(x)", timeout=120) == "1\n"
            # The SparkContext first (lazy mode makes it in the background; it installs
            # Spark's SIGINT handler): an interrupt then meets only the user's code.
            out = ws_execute(server, kernel_id, SPARK_COUNT, timeout=LAUNCH_TIMEOUT)
            assert out.rstrip().endswith("1000"), out  # (Spark may warn on stderr first)
            # One interrupt, as for our launcher. Earlier runs lost GP's first one in 2 of 4
            # (its listener logged the delivered {'signum': 2}, the kernel slept on). Found
            # meanwhile, ours: this package's legacy link took the not-yet-bound heartbeat
            # port of a starting GP kernel for a dead kernel, and the restarter SIGTERMed it
            # (YARN then even started a second attempt of its application): fixed in
            # launch/legacy.py; since then GP's kernel took its first interrupt. Should GP's
            # launcher lose one still, the test shows the listener's log (which must show
            # our delivery, else it fails) and the kernel's per-thread signal state, runs on,
            # and ends as xfail with that evidence.
            reply = interrupt_sleep(server, kernel_id, wait=30.0)
            took = reply["seconds"]
            print(f"{name}: interrupt answered {reply.get('ename')!r} after {took:.1f} s")
            if "status" not in reply and name == "gp_yarn":
                state, said = signal_state(kernel_id), listener_log(yarn_cluster, app_id)
                print("GP kernel, interrupt lost:", *state, *said, sep="\n  ")
                assert any(LISTENER_GOT in line for line in said), said  # we delivered it
                lost += state
            else:
                assert reply.get("ename") == "KeyboardInterrupt", reply
            began = time.monotonic()
            r = server.request("POST", f"/api/kernels/{kernel_id}/restart", timeout=400)
            assert r.status_code == 200, r.text
            restart = time.monotonic() - began
            assert_ended(yarn_cluster, app_id)
            second = server.request("GET", f"/api/kernels/{kernel_id}").json()["placement"]
            assert second["details"]["app_id"] != app_id
            assert ws_execute(server, kernel_id, "print('x' in dir())", timeout=120) == "False\n"
            began = time.monotonic()
            assert server.request("DELETE", f"/api/kernels/{kernel_id}").status_code == 204
            delete = time.monotonic() - began
            assert yarn_cluster.app(second["details"]["app_id"])["state"] in FINAL
            assert not leftovers(yarn_cluster)
            timings[name] = {"restart": round(restart, 2), "delete": round(delete, 2)}
        print(f"real YARN restart/delete s: {timings}")
        for step in ("restart", "delete"):
            assert timings["gp_yarn"][step] <= RATIO * timings["ours"][step] + SLACK, timings
        # A server stop ends a GP-launched kernel too.
        model = start_kernel(server, "gp_yarn")
        server.stop(signal.SIGTERM, timeout=120)
        assert_ended(yarn_cluster, model["placement"]["details"]["app_id"])
        assert not leftovers(yarn_cluster)
        if lost:
            pytest.xfail("GP's launcher lost the interrupt: " + "; ".join(lost))
    finally:
        server.stop(signal.SIGTERM, timeout=120)
