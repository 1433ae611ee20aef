"""`jupyter remote-kernels install local` and `list`, run as a user would."""

from __future__ import annotations

import json
import os

from ..kernels import cli, eg_argv


def test_install_local_then_list(tmp_path):
    env = dict(
        os.environ,
        JUPYTER_PATH=str(tmp_path / "share" / "jupyter"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
    )
    done = cli(
        "install",
        "local",
        "--name",
        "my-local",
        "--display-name",
        "Mine",
        "--prefix",
        str(tmp_path),
        "--port-range",
        "41000..41050",
        "--launch-timeout",
        "20",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    spec = json.loads((tmp_path / "share/jupyter/kernels/my-local/kernel.json").read_text())
    assert spec["display_name"] == "Mine"
    assert spec["metadata"]["process_proxy"] == {
        "class_name": "local",
        "config": {"port_range": "41000..41050", "launch_timeout": 20.0},
    }
    assert "{response_address}" in spec["argv"]
    listed = cli("list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["my-local"]["provisioner"] == "jrk-local-provisioner"
    assert rows["my-local"]["problem"] == ""


def test_install_rejects_bad_input_and_writes_nothing(tmp_path):
    for args, expected in [
        (["install", "nope"], "unknown kernel kind 'nope'"),
        (["install"], "say which kind to install"),
        (["install", "local", "--port-range", "9..1"], "port_range"),
        (["install", "local", "--env", "NOEQUALS"], "--env takes KEY=VALUE"),
    ]:
        done = cli(*args, "--prefix", str(tmp_path))
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert expected in done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "share").exists()


EG = "enterprise_gateway.services.processproxies."


def test_migrate_rewrites_enterprise_gateway_specs(tmp_path):
    kernels = tmp_path / "share" / "jupyter" / "kernels"
    argv = eg_argv(
        "/usr/local/share/jupyter/kernels/python_distributed/scripts/launch_ipykernel.py"
    )
    specs = {
        "eg_local": {
            "argv": argv,
            "display_name": "EG local",
            "language": "python",
            "metadata": {"process_proxy": {"class_name": EG + "processproxy.LocalProcessProxy"}},
        },
        "eg_yarn": {
            "argv": [
                "/opt/kernels/spark/bin/run.sh",
                "--RemoteProcessProxy.kernel-id",
                "{kernel_id}",
            ],
            "display_name": "EG yarn",
            "language": "python",
            "metadata": {"process_proxy": {"class_name": EG + "yarn.YarnClusterProcessProxy"}},
        },
    }
    for name, spec in specs.items():
        (kernels / name).mkdir(parents=True)
        (kernels / name / "kernel.json").write_text(json.dumps(spec))
    env = dict(
        os.environ,
        JUPYTER_PATH=str(tmp_path / "share" / "jupyter"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
    )
    done = cli("migrate", env=env)
    assert done.returncode == 1  # the run.sh spec needs a hand
    assert "eg_yarn: not migrated: argv starts a script" in done.stderr
    migrated = json.loads((kernels / "eg_local" / "kernel.json").read_text())
    assert migrated["argv"][1] == "{launcher}"
    assert "{public_key}" not in migrated["argv"]
    assert "--RemoteProcessProxy.kernel-id" in migrated["argv"]
    assert migrated["metadata"]["process_proxy"]["class_name"] == "local"
    assert (kernels / "eg_local" / "kernel.json.eg-backup").exists()
    assert json.loads((kernels / "eg_yarn" / "kernel.json").read_text()) == specs["eg_yarn"]
    again = cli("migrate", "eg_local", env=env)
    assert "eg_local: not an Enterprise Gateway or gateway_provisioners kernelspec" in again.stdout
