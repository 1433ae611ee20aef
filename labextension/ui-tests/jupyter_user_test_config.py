"""A user's JupyterLab of the two-server browser tests (playwright.gateway.config.js).

Started by Playwright as ``jupyter lab --config jupyter_user_test_config.py`` with
``KERNEL_USERNAME`` in its environment, as JupyterHub starts a user's server: its kernels
run on the gateway (jupyter_gateway_test_config.py, ``--gateway-url`` set here from
``JRK_UI_GW_PORT``, the gateway's token from ``JRK_UI_GW_TOKEN``); this project's server
extension is enabled (it answers ``/api/remote-kernels`` by asking the gateway) and its lab
extension as built in this work tree. Its root dir ``$JRK_UI_GW_BASE/root`` is removed when
it exits. Never use this configuration for anything else: it turns every protection off.
"""

from __future__ import annotations

import atexit
import os
import shutil
from pathlib import Path

import jupyterlab.galata

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
_base = Path(os.environ["JRK_UI_GW_BASE"])
_root = _base / "root"
_root.mkdir(parents=True, exist_ok=True)
atexit.register(lambda: shutil.rmtree(_base, ignore_errors=True))

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.ServerApp.open_browser = False
c.ServerApp.port_retries = 0
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ.get("JRK_UI_USER_PORT", "18889"))
c.ServerApp.root_dir = str(_root)
c.ServerApp.allow_root = True
c.IdentityProvider.token = ""
c.ServerApp.password = ""
c.ServerApp.disable_check_xsrf = True
c.LabApp.expose_app_in_browser = True
c.LabApp.workspaces_dir = str(_base / "workspaces")
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.ServerApp.jpserver_extensions = {"jupyter_remote_kernels": True}

c.GatewayClient.url = f"http://127.0.0.1:{os.environ.get('JRK_UI_GW_PORT', '18890')}"
c.GatewayClient.auth_token = os.environ["JRK_UI_GW_TOKEN"]

_built = REPO / "jupyter_remote_kernels" / "labextension"
if not (_built / "package.json").is_file():
    raise SystemExit(f"{_built} is missing: run `jlpm build` in labextension/ first")
(_base / "labextensions").mkdir(exist_ok=True)
_link = _base / "labextensions" / "jupyter-remote-kernels"
if not _link.exists():
    _link.symlink_to(_built)
c.LabServerApp.extra_labextensions_path = [
    str(_base / "labextensions"),
    str(Path(jupyterlab.galata.__file__).parent),  # galata's helper extension
]
