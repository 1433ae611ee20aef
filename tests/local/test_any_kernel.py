"""Kernels other than ipykernel on this machine, through the local launcher (issue 23)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec

from jupyter_remote_kernels.kernelspecs import translate_kernelspec
from jupyter_remote_kernels.paths import KERNELSPECS_DIR
from testing.eg_itests import extract_files

from ..any_kernel import R, lifecycle, require_kernels
from ..kernels import cli, launcher_argv, local_spec, pids_mentioning, write_kernelspec


def processes_of(kernel_id: str) -> list[tuple[int, str]]:
    """This machine's live processes naming the kernel: its launcher and the kernel (its
    connection file is named after the kernel id)."""
    found = []
    for pid in pids_mentioning(kernel_id):
        try:
            found.append((pid, Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                          .decode(errors="replace")))
        except OSError:
            continue
    return found


async def test_irkernel_lifecycle(jp_fetch, jp_ws_fetch, jp_kernel_dir, no_blocking):
    require_kernels()
    spec = local_spec(launcher_argv(), kernel_argv=R.argv)
    write_kernelspec(jp_kernel_dir, "r-local", {**spec, "language": "R"})
    model = await lifecycle(jp_fetch, jp_ws_fetch, "r-local", R, processes_of)
    assert model["placement"]["kind"] == "local"


def test_migrate_turns_egs_spark_r_yarn_cluster_into_the_generic_form(tmp_path):
    """EG's real ``spark_R_yarn_cluster`` (its released kernel.json and run.sh, which
    submits EG's ``launch_IRkernel.R``) becomes the Spark template's form with IRkernel's
    command: this package's run.sh (EG's kept), the launcher's argv, the kernel_argv."""
    root = extract_files(tmp_path / "eg", "etc/kernelspecs/spark_R_yarn_cluster",
                         "etc/kernel-launchers/R/scripts/launch_IRkernel.R")
    kernels = tmp_path / "jupyter" / "kernels"
    folder = shutil.copytree(root / "etc/kernelspecs/spark_R_yarn_cluster",
                             kernels / "spark_R_yarn_cluster")
    eg_run_sh = (folder / "bin" / "run.sh").read_text()
    assert "launch_IRkernel.R" in eg_run_sh  # EG's real script submits EG's R launcher
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path / "jupyter"))
    done = cli("migrate", "spark_r_yarn_cluster", env=env)
    assert done.returncode == 0, done.stderr
    assert "class_name -> yarn" in done.stdout, done.stdout
    spec = json.loads((folder / "kernel.json").read_text())
    assert spec["metadata"]["process_proxy"] == {"class_name": "yarn",
                                                 "config": {"kernel_argv": R.argv}}
    assert spec["argv"][:2] == ["{resource_dir}/bin/run.sh", "{launcher}"]
    assert "--RemoteProcessProxy.public-key" not in spec["argv"]
    assert spec["argv"][-2:] == ["--spark-context-initialization-mode", "lazy"]  # was eager
    assert "spark-context-initialization-mode eager -> lazy" in done.stdout
    assert "--master" not in spec["env"]["SPARK_OPTS"]  # run.sh sets it
    assert "spark.yarn.am.waitTime=1d" in spec["env"]["SPARK_OPTS"]  # the rest is kept
    assert (folder / "bin" / "run.sh").read_bytes() == (
        KERNELSPECS_DIR / "yarn_spark" / "bin" / "run.sh").read_bytes()
    assert (folder / "bin" / "run.sh.eg-backup").read_text() == eg_run_sh
    assert json.loads((folder / "kernel.json.eg-backup").read_text())["argv"][0].endswith(
        "spark_R_yarn_cluster/bin/run.sh")
    translated = translate_kernelspec("spark_r_yarn_cluster",
                                      KernelSpec.from_resource_dir(str(folder)))
    stanza = translated.metadata["kernel_provisioner"]
    assert stanza["provisioner_name"] == "jrk-yarn-provisioner", stanza
    assert stanza["config"]["kernel_argv"] == R.argv
