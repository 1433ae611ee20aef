"""A backend is a plugin: a toy backend, registered at test time through the entry point
groups, installs, starts and shows its placement through a real Jupyter Server.

The toy backend (``testing/toybackend``) lives outside the package; nothing of the core
names it (``tests/unit/test_layering.py`` checks it like every other backend).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from testing.toybackend import install_entry_points, python_path, write_kernelspec

from ..kernels import cli, pids_mentioning, ws_execute
from ..server_process import ServerProcess


def _env(site) -> dict[str, str]:
    return {"PYTHONPATH": python_path(site, os.environ.get("PYTHONPATH", ""))}


def test_the_toy_backend_starts_runs_and_stops_through_a_real_server(tmp_path):
    site = install_entry_points(tmp_path / "site")
    write_kernelspec(tmp_path / "data" / "kernels", sandbox="sandbox-7")
    server = ServerProcess(tmp_path, env=_env(site)).start()
    kernel_id = ""
    try:
        specs = server.request("GET", "/api/kernelspecs").json()["kernelspecs"]
        assert specs["toy"]["spec"]["display_name"] == "Python 3 (toy, sandbox-7)", specs
        r = server.request("POST", "/api/kernels", {"name": "toy"})
        assert r.status_code == 201, r.text
        kernel_id, placement = r.json()["id"], r.json()["placement"]
        pid = placement["pid"]
        assert placement["provisioner"] == "toy-provisioner" and placement["kind"] == "toy"
        assert placement["phase"] == "ready" and pid in pids_mentioning(kernel_id), placement
        assert placement["where"] == f"toy · sandbox-7 (pid {pid})", placement
        assert placement["details"] == {"sandbox": "sandbox-7", "docs_url": "https://jupyter.org/"}
        listed = server.request("GET", "/api/remote-kernels").json()
        assert [m["placement"] for m in listed] == [placement], listed
        assert ws_execute(server, kernel_id, "print(6 * 7)") == "42\n"
        r = server.request("DELETE", f"/api/kernels/{kernel_id}")
        assert r.status_code == 204, r.text
        deadline = time.monotonic() + 20
        while pids_mentioning(kernel_id) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pids_mentioning(kernel_id) == []
        assert server.request("GET", "/api/remote-kernels").json() == []
    finally:
        server.stop()
    assert not kernel_id or pids_mentioning(kernel_id) == []


def test_install_toy_shows_and_takes_the_toys_own_options(tmp_path):
    site = install_entry_points(tmp_path / "site")
    env = {**os.environ, **_env(site)}
    help_text = cli("install", "toy", "--help", env=env).stdout
    assert "--sandbox" in help_text and "toy: the sandbox kernels run in." in help_text
    assert "--endpoint" not in help_text and "--partition" not in help_text, help_text
    result = cli("install", "toy", "--sandbox", "s2", "--prefix", str(tmp_path / "p"), env=env)
    assert result.returncode == 0, result.stderr
    spec = json.loads(
        (tmp_path / "p/share/jupyter/kernels/remote-python-toy/kernel.json").read_text()
    )
    assert spec["metadata"]["process_proxy"] == {"class_name": "toy", "config": {"sandbox": "s2"}}
    assert spec["display_name"] == "Python 3 (toy, s2)"
    # Without the entry points, the kind is unknown: the CLI found it only through them.
    result = cli("install", "toy", "--sandbox", "s2", "--prefix", str(tmp_path / "q"))
    assert result.returncode == 2 and "unknown kernel kind 'toy'" in result.stderr, result.stderr


def test_install_kind_help_lists_that_kinds_own_options():
    shown = {kind: cli("install", kind, "--help").stdout for kind in ("ssh", "yarn", "slurm")}
    own = {"ssh": "--hosts", "yarn": "--endpoint", "slurm": "--partition"}
    for kind, text in shown.items():
        assert "--display-name" in text and "--python" in text, (kind, text)
        for other, option in own.items():
            assert (option in text) == (other == kind), (kind, option, text)


def test_nothing_of_the_core_or_the_lab_extension_names_the_toy_backend():
    """Adding the toy backend touched no core module and no lab extension source."""
    repo = Path(__file__).resolve().parents[2]
    word = re.compile(r"\btoy\b", re.IGNORECASE)
    sources = [
        *(repo / "jupyter_remote_kernels").rglob("*.py"),
        *(p for p in (repo / "labextension" / "src").rglob("*") if p.is_file()),
    ]
    assert len(sources) > 50, sources
    named = [str(p.relative_to(repo)) for p in sources if word.search(p.read_text())]
    assert not named, named
