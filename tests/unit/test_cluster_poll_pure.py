"""``ClusterJobProvisioner.poll()`` when a ready kernel's launcher goes silent before the
cluster says that its job ended: the kernel is waited for up to the node timeout, then
reported ``dead`` with a reason, and never left ``ready`` with an exit code.

The launcher's silence and the cluster's lateness are faults a real cluster does not give on
demand in a given order, so the link and the poller here are stand-ins; the real-cluster
tests (``tests/slurm/test_slurm_faults.py``, ``tests/k8s``) show the cluster's own reasons.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import pytest

from jupyter_remote_kernels.provisioning import ClusterJobProvisioner


class SilentLink:
    """The launcher's communication port refuses: ``poll`` answers an exit code."""

    unreachable = True

    async def poll(self) -> Optional[int]:
        return 1


class QuietPoller:
    """A poller whose listing still shows the job running (the cluster has not noticed)."""

    def __init__(self) -> None:
        self.asked = 0

    def refresh(self) -> None:
        self.asked += 1


class Job(ClusterJobProvisioner):
    kind = "toycluster"
    cluster_name = "Toy"

    def node_timeout(self) -> float:
        return self.timeout

    def ask_again(self) -> None:
        self.poller.refresh()

    def find_poller(self) -> Any:
        return self.poller

    async def cluster_host(self) -> str:
        return "127.0.0.1"

    @property
    def watch_key(self) -> str:
        return "k"

    def cached_job(self, job_id: str) -> Optional[Any]:
        return {"state": "RUNNING"}

    def show_job(self, job: Any) -> None:
        self.placement.state = job["state"]

    def job_ended(self, job: Any) -> bool:
        return job["state"] != "RUNNING"

    def job_phase(self, job: Any) -> tuple[str, str]:
        return "waiting-for-launcher", ""

    async def launch_failure(self, job: Any) -> str:
        return "failed"

    def death(self, job: Optional[Any]) -> str:
        return "ended"

    async def end_job(self, job_id: str) -> None:
        pass

    async def start_launcher(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


def silent_ready_kernel(timeout: float) -> Job:
    p = Job(kernel_id="k1")
    p.timeout = timeout
    p.poller, p.job_id, p.link = QuietPoller(), "42", SilentLink()
    p.placement.set_phase("ready")
    return p


def test_a_zero_node_timeout_reports_the_kernel_dead_at_once_with_a_reason():
    p = silent_ready_kernel(0)
    assert asyncio.run(p.poll()) == 1
    assert p.placement.phase == "dead"
    assert p.placement.error == (
        "Kernel k1 died: its launcher is gone or does not answer, and Toy had not reported "
        "its job 42 ended (not waited for: the node timeout is 0)"
    )


@pytest.mark.parametrize("timeout", [0.3])
def test_a_silent_launcher_is_waited_for_then_reported_dead(timeout):
    p = silent_ready_kernel(timeout)

    async def main() -> tuple[list[Optional[int]], Optional[int]]:
        early = [await p.poll() for _ in range(3)]
        await asyncio.sleep(timeout)
        return early, await p.poll()

    early, late = asyncio.run(main())
    assert early == [None, None, None]
    assert p.poller.asked == 3
    assert late == 1
    assert p.placement.phase == "dead"
    assert p.placement.error.endswith("Toy did not report its job 42 ended within 0.3 s")
