"""Warm pools: kernels started before anyone asks, handed out by start requests."""

from .pool import PoolKey, WarmPool
from .pools import KernelPools
from .settings import PoolSettings

__all__ = ["KernelPools", "PoolKey", "PoolSettings", "WarmPool"]
