"""The warm pools' settings (traits of the server's kernel manager)."""

from __future__ import annotations

from traitlets import Float, Int, List, Unicode, validate
from traitlets.config import Configurable

from ..provisioning.settings import positive_seconds

__all__ = ["PoolSettings"]


class PoolSettings(Configurable):
    """How many warm kernels each kernelspec keeps, for whom, and how they are refilled."""

    pool_size = Int(
        0,
        config=True,
        help="Warm kernels kept started and idle for each kernelspec placed by this package's "
        "backends; a kernelspec's process_proxy.config.pool_size overrides "
        "it. A start request that needs nothing a pool kernel lacks gets one at once.",
    )
    pool_max_launches = Int(
        2,
        config=True,
        help="Pool launches at once, over all pools of the server, so that refilling never "
        "storms a cluster (a pool launch also waits while users' own kernels are launching).",
    )
    pool_users = List(
        Unicode(),
        config=True,
        help="Jupyter user names whose kernels run as a user of their own "
        "(kernel_user_mapping) and get pools of their own. Users not listed are served by "
        "fresh kernels only, unless they run as the server's user, whose pools always exist "
        "when pool_size > 0. A pool kernel only ever goes to a request of its kernel user.",
    )
    pool_check_interval = Float(
        5.0,
        config=True,
        help="Seconds between checks of the pools: kernelspecs read again, every idle pool "
        "kernel asked whether it is alive (dead ones are dropped and replaced).",
    )
    pool_refill_delay = Float(
        1.0,
        config=True,
        help="Seconds a pool waits after a hand-out before it launches the replacement, so "
        "that the refill does not compete with the start it just served.",
    )
    pool_retry_interval = Float(
        10.0,
        config=True,
        help="Seconds a pool waits after a failed launch before it tries again (doubling "
        "with each failure in a row, up to 30 times this); the failure shows in "
        "/api/remote-kernels/pools and the Running panel.",
    )

    @validate("pool_size", "pool_max_launches")
    def _validate_count(self, proposal: dict) -> int:
        if proposal["value"] < 0:
            msg = f"{proposal['trait'].name} must be 0 or more"
            raise ValueError(msg)
        return proposal["value"]

    @validate("pool_check_interval", "pool_retry_interval")
    def _validate_seconds(self, proposal: dict) -> float:
        return positive_seconds(proposal)
