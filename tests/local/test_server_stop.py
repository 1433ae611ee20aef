"""Stopping a real `jupyter server` process leaves no launcher or kernel behind."""

from __future__ import annotations

import time

from ..kernels import pids_mentioning, shipped_local_spec, write_kernelspec
from ..server_process import ServerProcess


def test_server_stop_shuts_every_kernel_down(tmp_path):
    write_kernelspec(tmp_path / "data" / "kernels", "remote-python", shipped_local_spec())
    server = ServerProcess(tmp_path).start()
    ids = []
    try:
        for _ in range(3):
            r = server.request("POST", "/api/kernels", {"name": "remote-python"})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        assert all(len(pids_mentioning(k)) == 2 for k in ids)
        server.stop()
        assert server.process.returncode is not None
        deadline = time.monotonic() + 5
        while any(pids_mentioning(k) for k in ids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [k for k in ids if pids_mentioning(k)]
        assert list((tmp_path / "runtime").glob("kernel-*.json")) == []
        assert list((tmp_path / "runtime" / "remote-kernels").glob("*.json")) == []
    finally:
        server.stop()
