"""Server extension of the benchmark's gateway_provisioners server: kernel starts get an env.

Enterprise Gateway passes every kernel start an ``env`` (the client's ``KERNEL_*`` values
on top of its own environment); Jupyter Server's ``POST /api/kernels`` passes none, and
gateway_provisioners 0.5's ``YarnProvisioner.pre_launch`` asserts one (HTTP 500,
AssertionError). This gives GP's server what EG would, so GP's YARN kernels can be measured
from a stock Jupyter Server at all.
"""

from __future__ import annotations

import os
from typing import Any


def _load_jupyter_server_extension(serverapp: Any) -> None:
    manager = serverapp.kernel_manager
    start_kernel = manager.start_kernel

    async def start_with_env(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("env", dict(os.environ))
        return await start_kernel(*args, **kwargs)

    manager.start_kernel = start_with_env
