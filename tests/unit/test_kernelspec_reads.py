"""A start reads the kernelspec, not the installed distributions' metadata (issue 22).

Scanning every installed distribution for entry points costs ~10 ms of CPU per call on a
machine with a few hundred packages; the kernelspec translation did it twice per start.
The kernel manager now reads the backends and provisioners once.
"""

from __future__ import annotations

import json

from jupyter_client.kernelspec import KernelSpecManager

from jupyter_remote_kernels import backends as backends_module
from jupyter_remote_kernels import kernelspecs
from jupyter_remote_kernels.manager import RemoteMappingKernelManager
from testing.specs import shipped_local_spec


def test_starts_after_the_first_scan_no_entry_points(tmp_path, monkeypatch):
    folder = tmp_path / "kernels" / "ours"
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps(shipped_local_spec()))
    manager = RemoteMappingKernelManager(
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    )
    scans = []
    for module in (kernelspecs, backends_module):
        real = module.entry_points
        monkeypatch.setattr(
            module, "entry_points", lambda real=real, **kw: scans.append(kw) or real(**kw)
        )
    first = manager.load_kernel_spec("ours")
    assert first.metadata["kernel_provisioner"]["provisioner_name"] == "jrk-local-provisioner"
    assert scans, "the first start reads the entry points"
    scans.clear()
    for _ in range(3):
        spec = manager.load_kernel_spec("ours")
        assert spec.metadata["kernel_provisioner"] == first.metadata["kernel_provisioner"]
    assert scans == []
