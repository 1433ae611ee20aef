"""``jupyter remote-kernels check NAME`` for a Slurm kernelspec: controller, partition, Python.

It runs the Slurm commands as the server would (same ``slurm_conf`` and ``slurm_bin_dir``)
and, last, a short job on a compute node that imports ipykernel with the kernelspec's Python
(or, for a kernel of its own command, ``kernel_argv``, finds that command).
"""

from __future__ import annotations

import asyncio
import getpass
from typing import Any

from ..backends import kernel_probe, print_checks
from .commands import SlurmCommands
from .errors import SlurmError
from .provisioner import SlurmProvisioner

__all__ = ["check_slurm_spec", "run_check"]

_PROBE = "import sys, ipykernel; print(sys.version.split()[0], ipykernel.__version__)"


async def _partition(commands: SlurmCommands, partition: str) -> tuple[bool, str]:
    args = ["--noheader", "--format=%P|%a|%D|%t"]
    if partition:
        args.append(f"--partition={partition}")
    result = await commands.run("sinfo", args)
    rows = [line.split("|") for line in result.out.split() if line.count("|") == 3]
    if result.code != 0 or not rows:
        listed = await commands.run("sinfo", ["--noheader", "--format=%P"])
        names = ", ".join(p.rstrip("*") for p in listed.out.split()) or "none"
        what = f"partition {partition!r}" if partition else "a default partition"
        error = f" ({result.message()})" if result.code != 0 else ""
        return False, f"Slurm has no {what}{error}; set slurm_partition to one of: {names}"
    name = rows[0][0].rstrip("*")
    up = all(row[1] == "up" for row in rows)
    idle = sum(int(row[2]) for row in rows if row[3] in ("idle", "mix"))
    states = ", ".join(f"{row[2]} {row[3]}" for row in rows)
    ok = up and idle > 0
    tail = "" if ok else (" (new kernels will wait)" if up else " (the partition is down)")
    return ok, f"{name}: {'up' if up else 'DOWN'}, nodes {states}{tail}"


async def _association(commands: SlurmCommands, account: str) -> tuple[bool, str]:
    user = getpass.getuser()
    try:
        result = await commands.run(
            "sacctmgr",
            [
                "--noheader",
                "--parsable2",
                "show",
                "assoc",
                f"where user={user}",
                "format=account,partition",
            ],
        )
    except SlurmError as exc:
        return True, f"sacctmgr cannot run ({exc}); associations not checked"
    if result.code != 0:
        # No slurmdbd: Slurm enforces no associations, and sbatch accepts the job.
        return True, f"accounting is not enabled ({result.message()}); no association needed"
    accounts = sorted({line.split("|")[0] for line in result.out.split() if line})
    if not accounts:
        return False, f"user {user} has no Slurm association; ask the cluster's administrator"
    if account and account not in accounts:
        return False, f"user {user} is not in account {account!r} (has: {', '.join(accounts)})"
    return True, f"user {user} in account(s) {', '.join(accounts)}"


async def _probe_python(
    commands: SlurmCommands, prov: SlurmProvisioner, python: str
) -> tuple[bool, str]:
    args = ["--quiet", "--nodes=1", "--ntasks=1", "--time=1"]
    if prov.slurm_partition:
        args.append(f"--partition={prov.slurm_partition}")
    result = await commands.run("srun", [*args, python, "-c", _PROBE], timeout=120)
    if result.code != 0:
        return False, (
            f"a test job could not import ipykernel with {python}: {result.message()} "
            "(install ipykernel for that Python on the compute nodes, or fix argv[0])"
        )
    return True, f"{python} on a compute node: Python/ipykernel {result.out.strip()}"


async def _checks(prov: SlurmProvisioner, argv: list[str]) -> list[tuple[str, bool, str]]:
    commands = prov.commands()
    results: list[tuple[str, bool, str]] = []
    try:
        ping = await commands.run("scontrol", ["ping"])
    except SlurmError as exc:
        return [("commands", False, str(exc))]
    up = ping.code == 0 and "UP" in ping.out
    results.append(("controller", up, ping.message() if not up else ping.out.strip()))
    if not up:
        return results
    partition_ok, detail = await _partition(commands, prov.slurm_partition)
    results.append(("partition", partition_ok, detail))
    results.append(("account", *await _association(commands, prov.slurm_account)))
    python = argv[0] if argv else "python3"
    if not partition_ok:
        results.append(("python", False, "not checked: the test job needs a usable partition"))
    elif prov.kernel_argv:  # a kernel of its own command: it, not ipykernel, must be there
        results.append(("kernel", *await _probe_kernel(commands, prov, python)))
    else:
        results.append(("python", *await _probe_python(commands, prov, python)))
    return results


async def _probe_kernel(
    commands: SlurmCommands, prov: SlurmProvisioner, python: str
) -> tuple[bool, str]:
    probe, what = kernel_probe(prov.kernel_argv, python)
    args = ["--quiet", "--nodes=1", "--ntasks=1", "--time=1"]
    if prov.slurm_partition:
        args.append(f"--partition={prov.slurm_partition}")
    result = await commands.run("srun", [*args, "sh", "-c", probe], timeout=120)
    if result.code != 0:
        return False, (
            f"a test job found no {what} on a compute node ({result.message()}): install the "
            "kernel on the nodes or fix kernel_argv in the kernelspec"
        )
    return True, f"{what} on a compute node: {result.out.strip() or 'found'}"


async def _checks_closed(config: dict[str, Any], argv: list[str]) -> list[tuple[str, bool, str]]:
    prov = SlurmProvisioner(**config)
    try:
        return await _checks(prov, argv)
    finally:
        await prov.services.close()  # the login node's SSH connection, if one was opened


def check_slurm_spec(config: dict[str, Any], argv: list[str]) -> list[tuple[str, bool, str]]:
    """[(check, ok, detail or fix)] for a Slurm kernelspec's ``process_proxy.config``."""
    return asyncio.run(_checks_closed(config, argv))


def run_check(name: str, config: dict[str, Any], argv: list[str]) -> int:
    """Print the checks of Slurm kernelspec ``name``; the exit status (0: all fine)."""
    print(f"{name} (Slurm):")
    return 1 if print_checks(check_slurm_spec(config, argv)) else 0
