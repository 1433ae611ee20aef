"""What a kernel's job asks Slurm for: the kernelspec's values, and a request's within limits.

A start request may change the partition, time limit, CPUs, memory or GPUs of its kernel with
``KERNEL_SLURM_PARTITION``, ``KERNEL_SLURM_TIME``, ``KERNEL_SLURM_CPUS``,
``KERNEL_SLURM_MEMORY`` and ``KERNEL_SLURM_GPUS``, only within what the admin allows
(``allowed_partitions``, ``max_time``, ``max_cpus``, ``max_memory``, ``max_gpus``). A value
beyond a limit is refused with :class:`~jupyter_remote_kernels.errors.NotAuthorized` (HTTP
403) naming the limit, a malformed one with :class:`~jupyter_remote_kernels.errors.InvalidRequest`
(HTTP 400). Every value becomes one ``sbatch`` argument: none reaches a shell.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

from ..errors import InvalidRequest, NotAuthorized

__all__ = ["REQUEST_KEYS", "job_options", "parse_memory", "parse_time"]

#: The request values that change a job's resources (they need their own job).
REQUEST_KEYS = (
    "KERNEL_SLURM_PARTITION",
    "KERNEL_SLURM_TIME",
    "KERNEL_SLURM_CPUS",
    "KERNEL_SLURM_MEMORY",
    "KERNEL_SLURM_GPUS",
)

_TIME = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")
_MEMORY = re.compile(r"^(\d+)([KMGT]?)B?$", re.I)
_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")
_UNITS = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 * 1024}
_GPU_GRES = re.compile(r"^gpu(?::[A-Za-z0-9_.-]+)?:(\d+)$")


def parse_time(text: str) -> float:
    """Seconds in a Slurm time limit (``30``, ``30:00``, ``2:00:00``, ``1-12``, ``UNLIMITED``).

    As sbatch reads them: ``M``, ``M:S``, ``H:M:S``, ``D-H``, ``D-H:M``, ``D-H:M:S``.
    """
    value = text.strip()
    if value.upper() in ("INFINITE", "UNLIMITED"):
        return math.inf
    match = _TIME.match(value)
    if not match:
        msg = (
            f"{text!r} is not a Slurm time limit (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM "
            "or D-HH:MM:SS)"
        )
        raise ValueError(msg)
    days, first, second, third = match.groups()
    numbers = [int(first), *(int(n) for n in (second, third) if n is not None)]
    if days is not None:
        hours, minutes, seconds = [*numbers, 0, 0][:3]
        return ((int(days) * 24 + hours) * 60 + minutes) * 60 + seconds
    if len(numbers) == 1:
        return numbers[0] * 60.0
    if len(numbers) == 2:
        return numbers[0] * 60.0 + numbers[1]
    return (numbers[0] * 60.0 + numbers[1]) * 60 + numbers[2]


def parse_memory(text: str) -> float:
    """Megabytes in a Slurm memory size (``512``, ``4G``, ``4096M``)."""
    match = _MEMORY.match(text.strip())
    if not match:
        msg = f"{text!r} is not a Slurm memory size (a number with K, M, G or T)"
        raise ValueError(msg)
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


def _positive_int(key: str, value: str) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        msg = f"{key} must be a whole number of at least 1, not {value!r}"
        raise InvalidRequest(msg)
    return int(value)


def _refuse(key: str, value: str, limit: str, setting: str) -> NotAuthorized:
    return NotAuthorized(
        f"{key}={value!r} is beyond what this kernelspec allows ({setting}: {limit}). "
        f"Ask for less, or ask the administrator to raise {setting} in the kernelspec's "
        "process_proxy.config."
    )


def _partition(settings: Any, env: dict[str, str]) -> str:
    key = "KERNEL_SLURM_PARTITION"
    value = env.get(key, "").strip()
    if not value or value == settings.slurm_partition:
        return str(settings.slurm_partition)
    if not _NAME.match(value):
        msg = f"{key} must name one partition, not {value!r}"
        raise InvalidRequest(msg)
    allowed = list(settings.allowed_partitions)
    if value not in allowed:
        raise _refuse(
            key,
            value,
            ", ".join(allowed) or "only the kernelspec's partition",
            "allowed_partitions",
        )
    return value


def _measured(
    env: dict[str, str],
    key: str,
    current: str,
    *,
    limit: str,
    setting: str,
    parse: Callable[[str], float],
) -> str:
    """A time or a size the request may set up to ``limit`` (empty: no change)."""
    value = env.get(key, "").strip()
    if not value or value == current:
        return current
    try:
        amount = parse(value)
    except ValueError as exc:
        msg = f"{key}: {exc}"
        raise InvalidRequest(msg) from None
    if not limit or amount > parse(limit):
        raise _refuse(key, value, limit or "no change", setting)
    return value


def _cpus(settings: Any, env: dict[str, str]) -> int:
    key = "KERNEL_SLURM_CPUS"
    value = env.get(key, "").strip()
    if not value:
        return int(settings.slurm_cpus)
    cpus = _positive_int(key, value)
    if cpus != settings.slurm_cpus and cpus > settings.max_cpus:
        raise _refuse(key, value, str(settings.max_cpus or "no change"), "max_cpus")
    return cpus


def _gres(settings: Any, env: dict[str, str]) -> str:
    key = "KERNEL_SLURM_GPUS"
    value = env.get(key, "").strip()
    gres = str(settings.slurm_gres)
    if not value:
        return gres
    if value != "0":
        gpus = _positive_int(key, value)
    else:
        gpus = 0
    others = [part for part in gres.split(",") if part and not _GPU_GRES.match(part)]
    mine = [int(m.group(1)) for m in map(_GPU_GRES.match, gres.split(",")) if m]
    if gpus != sum(mine) and gpus > settings.max_gpus:
        raise _refuse(key, value, str(settings.max_gpus or "no change"), "max_gpus")
    return ",".join(others + ([f"gpu:{gpus}"] if gpus else []))


def job_options(settings: Any, env: dict[str, str]) -> list[str]:
    """The ``sbatch`` options of one job: the kernelspec's settings, changed by the request.

    ``settings`` is a :class:`~jupyter_remote_kernels.slurm.settings.SlurmSettings`;
    ``env`` the start request's environment. Raises ``NotAuthorized`` / ``InvalidRequest``.
    """
    options = []
    for flag, value in (
        ("--partition", _partition(settings, env)),
        ("--account", settings.slurm_account),
        ("--qos", settings.slurm_qos),
        (
            "--time",
            _measured(
                env,
                "KERNEL_SLURM_TIME",
                settings.slurm_time,
                limit=settings.max_time,
                setting="max_time",
                parse=parse_time,
            ),
        ),
        (
            "--mem",
            _measured(
                env,
                "KERNEL_SLURM_MEMORY",
                settings.slurm_memory,
                limit=settings.max_memory,
                setting="max_memory",
                parse=parse_memory,
            ),
        ),
        ("--gres", _gres(settings, env)),
        ("--constraint", settings.slurm_constraint),
    ):
        if value:
            options.append(f"{flag}={value}")
    options.append(f"--cpus-per-task={_cpus(settings, env)}")
    return [*options, *settings.slurm_extra_options]
