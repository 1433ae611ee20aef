"""Kill the server with SIGKILL, start it again: running kernels are back, state intact."""

from __future__ import annotations

import os
import signal
import stat
import time

from ..kernels import pids_mentioning, shipped_local_spec, write_kernelspec, ws_execute
from ..server_process import ServerProcess


def test_sigkilled_server_reattaches_to_running_kernels(tmp_path):
    write_kernelspec(tmp_path / "data" / "kernels", "remote-python", shipped_local_spec())
    server = ServerProcess(tmp_path).start()
    try:
        kernel_ids = []
        for value in (41, 42):
            r = server.request("POST", "/api/kernels", {"name": "remote-python"})
            assert r.status_code == 201, r.text
            kernel_ids.append(r.json()["id"])
            assert ws_execute(server, kernel_ids[-1], f"x = {value}; print(x)") == f"{value}\n"
        records = list((tmp_path / "runtime" / "remote-kernels").glob("*.json"))
        assert len(records) == 2
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in records)
        assert stat.S_IMODE(records[0].parent.stat().st_mode) == 0o700

        # one kernel dies while the server is down: it must be cleaned up, not listed
        server.stop(signal.SIGKILL)
        dead = kernel_ids.pop()
        for pid in pids_mentioning(dead):
            os.kill(pid, signal.SIGKILL)

        server = ServerProcess(tmp_path).start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            listed = [k["id"] for k in server.request("GET", "/api/kernels").json()]
            if listed:
                break
            time.sleep(0.2)
        assert listed == kernel_ids
        placement = server.request("GET", f"/api/remote-kernels/{kernel_ids[0]}").json()
        assert placement["placement"]["phase"] == "ready"
        assert ws_execute(server, kernel_ids[0], "print(x)") == "41\n"
        assert not (tmp_path / "runtime" / "remote-kernels" / f"{dead}.json").exists()
        assert not (tmp_path / "runtime" / f"kernel-{dead}.json").exists()

        r = server.request("DELETE", f"/api/kernels/{kernel_ids[0]}")
        assert r.status_code == 204
        deadline = time.monotonic() + 10
        while pids_mentioning(kernel_ids[0]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pids_mentioning(kernel_ids[0])
        assert list((tmp_path / "runtime" / "remote-kernels").glob("*.json")) == []
    finally:
        server.stop()
        for kernel_id in kernel_ids:
            for pid in pids_mentioning(kernel_id):
                os.kill(pid, signal.SIGKILL)
