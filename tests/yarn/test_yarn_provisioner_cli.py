"""`jupyter remote-kernels install yarn` / `check NAME`, and the Spark template end to end."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from testing.yarn_emulator.spark_submit import install_fake_spark, install_spark_kernelspec

from ..kernels import KernelSession, pids_mentioning, wait_until
from ..yarn_helpers import POLL, app_of

REPO = Path(__file__).resolve().parents[2]


def cli(tmp_path, *args):
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path / "share" / "jupyter"))
    env.pop("SPARK_HOME", None)
    return subprocess.run(
        [sys.executable, "-m", "jupyter_remote_kernels.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def installed(tmp_path):
    folder = tmp_path / "share" / "jupyter" / "kernels"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_install_yarn_refuses_bad_or_missing_values(tmp_path):
    spark = install_fake_spark(tmp_path, "http://127.0.0.1:1", REPO)
    cases = [
        ([], "needs --endpoint"),
        (["--endpoint", "ftp://rm:8088", "--spark-home", str(spark)], "http://HOST:8088"),
        (["--endpoint", "http://rm:8088"], "--spark-home"),
        (["--endpoint", "http://rm:8088", "--spark-home", str(tmp_path)], "spark-submit"),
        (["--endpoint", "http://rm:8088", "--spark-home", str(spark), "--queue", "a,b"], "queue"),
    ]
    for args, expected in cases:
        out = cli(tmp_path, "install", "yarn", "--prefix", str(tmp_path), *args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert expected in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr
        assert installed(tmp_path) == []


def test_install_yarn_spark_and_check(tmp_path, yarn_ha):
    spark = install_fake_spark(tmp_path, ",".join(yarn_ha.urls), REPO)
    out = cli(
        tmp_path,
        "install",
        "yarn",
        "--prefix",
        str(tmp_path),
        "--endpoint",
        yarn_ha.standby.url,
        "--alt-endpoint",
        yarn_ha.active.url,
        "--spark-home",
        str(spark),
    )
    assert out.returncode == 0, out.stderr
    folder = tmp_path / "share" / "jupyter" / "kernels" / "remote-python-yarn"
    spec = json.loads((folder / "kernel.json").read_text())
    assert "@@" not in json.dumps(spec)
    assert spec["argv"][:2] == ["{resource_dir}/bin/run.sh", "{launcher}"]
    config = spec["metadata"]["process_proxy"]["config"]
    assert config["alt_yarn_endpoints"] == [yarn_ha.active.url]
    assert spec["env"]["SPARK_HOME"] == str(spark)
    assert os.access(folder / "bin" / "run.sh", os.X_OK)

    out = cli(tmp_path, "check", "remote-python-yarn")
    print(out.stdout, out.stderr)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "STANDBY" in out.stdout and "ACTIVE" in out.stdout
    assert f"active ResourceManager: {yarn_ha.active.url}" in out.stdout
    for check in ("reach", "ha", "queue", "auth"):
        assert f"ok   {check}" in out.stdout


def test_check_reports_unreachable_rm_and_auth(tmp_path, yarn_rm_factory):
    rm = yarn_rm_factory(require_user_name=True)
    spark = install_fake_spark(tmp_path, rm.url, REPO)
    for name, endpoint in (("good", rm.url), ("down", "http://127.0.0.1:9")):
        out = cli(
            tmp_path,
            "install",
            "yarn",
            "--prefix",
            str(tmp_path),
            "--name",
            name,
            "--endpoint",
            endpoint,
            "--spark-home",
            str(spark),
        )
        assert out.returncode == 0, out.stderr
    out = cli(tmp_path, "check", "good")
    assert out.returncode == 0, out.stdout
    assert "ok   auth       simple auth as" in out.stdout
    out = cli(tmp_path, "check", "down")
    assert out.returncode == 1
    assert "FAIL reach" in out.stdout and "no active YARN ResourceManager" in out.stdout


async def test_spark_template_runs_the_shipped_launcher(
    yarn_rm, jp_fetch, jp_ws_fetch, kernels_dir, tmp_path
):
    """The yarn_spark template through a spark-submit that ships only what it is given
    (like Spark, only the last --files): the launcher's files, the user's --files and
    --py-files."""
    spark = install_fake_spark(tmp_path, yarn_rm.url, REPO)
    folder = await asyncio.to_thread(
        install_spark_kernelspec, kernels_dir, "yarn-spark", yarn_rm.url, spark, POLL
    )
    for name in ("user_a.txt", "user_b.txt", "user_mod.py"):
        (tmp_path / name).write_text("NAME = 'user_mod'\n")
    spec = json.loads((folder / "kernel.json").read_text())
    spec["env"]["SPARK_OPTS"] = f"--files {tmp_path}/user_a.txt --py-files {tmp_path}/user_mod.py"
    # run.sh's properties file goes to TMPDIR: a folder of this test's own, so other runs'
    # files in the machine's /tmp neither fail nor hide the check at the end.
    own_tmp = tmp_path / "tmp"
    own_tmp.mkdir()
    spec["env"]["TMPDIR"] = str(own_tmp)
    (folder / "kernel.json").write_text(json.dumps(spec))
    # A later --files replaces an earlier one in spark-submit: user_b's, not user_a's.
    user_b = tmp_path / "user_b.txt"
    body = {"name": "yarn-spark", "env": {"KERNEL_EXTRA_SPARK_OPTS": f"--files={user_b}"}}
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps(body))
    model = json.loads(response.body)
    kernel_id, app_id = model["id"], model["placement"]["details"]["app_id"]
    app = app_of(yarn_rm, app_id)
    assert app["name"] == kernel_id and kernel_id in app["applicationTags"]
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute(
        "import os; print(sorted(f for f in os.listdir('.') if f != 'launch_container.sh'))\n"
        "import user_mod; print(user_mod.NAME)"
    )
    localized = (
        "['jrk_launcher_comm.py', 'jrk_launcher_kernel.py', 'jrk_launcher_prepare.py', "
        "'jrk_launcher_spark.py', "
        "'launch_ipykernel.py', 'user_b.txt', 'user_mod.py']"
    )
    assert reply["stdout"].splitlines() == [localized, "user_mod"], reply
    session.close()
    assert not pids_mentioning("JRK_LAUNCH_BUNDLE=")  # the secret never in any argv
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert app_of(yarn_rm, app_id)["state"] == "KILLED"
    assert await wait_until(lambda: not pids_mentioning(kernel_id), timeout=5)
    assert not list(own_tmp.glob("jrk-spark-*.conf"))
