"""Kernels other than ipykernel on this machine, through the local launcher (issue 23)."""

from __future__ import annotations

from pathlib import Path

from ..any_kernel import R, lifecycle, require_kernels
from ..kernels import launcher_argv, local_spec, pids_mentioning, write_kernelspec


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
