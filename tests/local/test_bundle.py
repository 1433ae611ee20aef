"""The launch bundle survives every launch channel, a YARN container's launch script included."""

from __future__ import annotations

import json
import subprocess
import sys

from jupyter_remote_kernels.launch import protocol
from jupyter_remote_kernels.paths import launcher_path

NASTY = {
    "auth_key": "ab" * 32,
    "key": 'k"e$y`\\',
    "signature_scheme": "hmac-sha256",
    "env": {"KERNEL_X": 'a "b" $HOME `id` \\ c\nd'},
}


def test_bundle_is_shell_safe_and_survives_export_in_bash():
    """A NodeManager writes `export NAME="VALUE"` unescaped; the bundle must pass as is."""
    encoded = protocol.encode_bundle(NASTY)
    assert encoded.endswith(b"\n")
    assert set(encoded.strip().decode()) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="
    )
    value = encoded.decode().strip()
    script = f'export B="{value}"\nprintf %s "$B"\n'
    out = subprocess.run(["bash", "-c", script], capture_output=True, check=True).stdout
    assert protocol.decode_bundle(out) == NASTY


def test_launcher_reads_what_the_server_encodes():
    """The launcher's own copy of the decoding (standard library only) matches protocol's."""
    code = (
        "import importlib.util, json, os, sys\n"
        f"sys.path.insert(0, {str(launcher_path().parent)!r})\n"  # its siblings, as run
        f"spec = importlib.util.spec_from_file_location('l', {str(launcher_path())!r})\n"
        "l = importlib.util.module_from_spec(spec); spec.loader.exec_module(l)\n"
        "class O: bundle_env = 'B'\n"
        "print(json.dumps(l.read_bundle(O())))\n"
    )
    env = {"B": protocol.encode_bundle(NASTY).decode().strip(), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == NASTY


def test_launcher_refuses_a_bundle_that_is_not_one():
    for raw in ("{\"auth_key\": 1}", "not base64 !", protocol.encode_bundle([1]).decode()):
        code = (
            "import importlib.util, sys\n"
            f"sys.path.insert(0, {str(launcher_path().parent)!r})\n"
            f"spec = importlib.util.spec_from_file_location('l', {str(launcher_path())!r})\n"
            "l = importlib.util.module_from_spec(spec); spec.loader.exec_module(l)\n"
            "class O: bundle_env = 'B'\n"
            "l.read_bundle(O())\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code],
            env={"B": raw},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert "no valid launch bundle on $B" in done.stderr
