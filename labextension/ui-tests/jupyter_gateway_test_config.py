"""The shared gateway of the two-server browser tests (playwright.gateway.config.js).

Started by Playwright as ``jupyter server --config jupyter_gateway_test_config.py``: a
Jupyter Server running this project with the kernelspecs ``remote-python`` (the shipped local
spec) and, when ``sshd`` exists, ``remote-ssh`` on an SSH test bed (testing/sshbed/) started
and stopped with it. It trusts its token's holder (the users' servers) to name their users
in ``KERNEL_USERNAME``, as behind JupyterHub. It writes what it set up to
``$JRK_UI_GW_INFO`` (read by the tests through the user's server) and removes everything
it made when it exits. Never use this configuration for anything else.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from testing.specs import shipped_local_spec, ssh_spec, write_kernelspec  # noqa: E402
from testing.sshbed import SSHTestBed  # noqa: E402

_tmp = Path(tempfile.mkdtemp(prefix="jrk-ui-gateway-"))
_kernels = _tmp / "share" / "kernels"
_kernels.mkdir(parents=True)
os.environ["JUPYTER_PATH"] = str(_kernels.parent)
_cleanups = [lambda: shutil.rmtree(_tmp, ignore_errors=True)]


def _cleanup() -> None:
    while _cleanups:
        try:
            _cleanups.pop()()
        except Exception as exc:  # report and go on: the rest must still be torn down
            print(f"jrk-ui-gateway: cleanup failed: {exc!r}", file=sys.stderr)


atexit.register(_cleanup)

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.ServerApp.open_browser = False
c.ServerApp.port_retries = 0
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ.get("JRK_UI_GW_PORT", "18890"))
c.ServerApp.root_dir = str(_tmp)
c.ServerApp.allow_root = True
c.ServerApp.jpserver_extensions = {"jupyter_remote_kernels": True}
# The users' servers hold the gateway's one token; its holder is "hub-gateway", trusted to
# name the user each kernel is for (README: Behind JupyterHub).
c.IdentityProvider.token = os.environ["JRK_UI_GW_TOKEN"]
c.ServerApp.identity_provider_class = "jupyter_remote_kernels.identity.NamedTokenIdentityProvider"
c.NamedTokenIdentityProvider.token_username = "hub-gateway"  # noqa: S105 (a user name)
c.RemoteMappingKernelManager.trusted_gateway_users = ["hub-gateway"]
c.RemoteMappingKernelManager.kernel_user_mapping = {"alice": "alice"}
c.KernelSpecManager.ensure_native_kernel = False
c.MappingKernelManager.default_kernel_name = "remote-python"

write_kernelspec(
    _kernels,
    "remote-python",
    {**shipped_local_spec(), "display_name": "Python (remote launcher, local)"},
)
info: dict = {"kernels": ["remote-python"], "ssh": None}


def _start_ssh() -> None:
    if not (shutil.which("sshd") or os.access("/usr/sbin/sshd", os.X_OK)):
        info["ssh_skipped"] = "sshd is not installed"
        return
    bed = SSHTestBed(2, _tmp / "sshbed")
    _cleanups.append(bed.stop)  # after the server stopped its kernels (atexit order)
    bed.start()
    spec = ssh_spec(bed, launch_timeout=60)
    spec.pop("language", None)
    write_kernelspec(_kernels, "remote-ssh", {**spec, "display_name": "Python (SSH test hosts)"})
    info["kernels"].append("remote-ssh")
    info["ssh"] = {
        "mode": bed.mode,
        "hosts": [{"address": h.address, "hostname": h.hostname} for h in bed.hosts],
    }


try:
    _start_ssh()
except Exception as exc:  # the local test still runs; the ssh test fails with this
    info["ssh_error"] = f"the SSH test bed did not start: {exc}"
    print(f"jrk-ui-gateway: {info['ssh_error']}", file=sys.stderr)

c.KernelSpecManager.allowed_kernelspecs = set(info["kernels"])
_info_path = Path(os.environ["JRK_UI_GW_INFO"])
_info_path.parent.mkdir(parents=True, exist_ok=True)
_info_path.write_text(json.dumps(info, indent=1))
_cleanups.insert(0, lambda: _info_path.unlink(missing_ok=True))
