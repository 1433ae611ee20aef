"""Kernelspecs and process lookups the tests and the benchmarks both use."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from jupyter_remote_kernels.paths import KERNELSPECS_DIR


def write_kernelspec(kernels_dir: Path, name: str, spec: dict[str, Any]) -> Path:
    folder = kernels_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"display_name": name, "language": "python", **spec}
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return folder


def shipped_local_spec() -> dict[str, Any]:
    """The kernelspec the wheel installs as ``remote-python``."""
    return json.loads((KERNELSPECS_DIR / "local" / "kernel.json").read_text())


def pids_mentioning(text: str) -> list[int]:
    """PIDs of live processes whose command line contains ``text`` (zombies excluded)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and text.encode() in cmdline:
            found.append(int(entry))
    return found


#: The hosts share this machine's file system: the test Python (with ipykernel) is there too.
#: Not resolved through symlinks: a virtualenv's ``bin/python`` is a symlink to the base
#: interpreter, which would not see the venv's packages (ipykernel) from there.
REMOTE_PYTHON = os.path.abspath(sys.executable)


EG_DISTRIBUTED = "enterprise_gateway.services.processproxies.distributed.DistributedProcessProxy"


SSH_ARGV = [
    "python",
    "{launcher}",
    "--kernel-id",
    "{kernel_id}",
    "--response-address",
    "{response_address}",
    "--port-range",
    "{port_range}",
    "--kernel-class-name",
    "{kernel_class_name}",
]


def ssh_spec(bed, hosts=None, **config: Any) -> dict[str, Any]:
    """An ssh kernelspec (EG class name, comma-separated remote_hosts) for ``bed``."""
    hosts = bed.hosts if hosts is None else hosts
    env = config.pop("env", {})
    return {
        "env": env,
        "argv": SSH_ARGV,
        "display_name": "Python (ssh)",
        "language": "python",
        "metadata": {
            "process_proxy": {
                "class_name": EG_DISTRIBUTED,
                "config": {
                    "remote_hosts": ",".join(
                        h.address if h.port == 22 else f"{h.address}:{h.port}" for h in hosts
                    ),
                    "remote_user": bed.user,
                    "ssh_key_file": str(bed.client_key_path),
                    "allow_agent": False,
                    "known_hosts_file": str(bed.known_hosts_path),
                    "python": REMOTE_PYTHON,
                    "launch_timeout": 30,
                    **config,
                },
            }
        },
    }


def slurm_spec(cluster, partition: str = "debug", **config: Any) -> dict[str, Any]:
    """The shipped ``slurm`` template filled for ``cluster`` (a ``SlurmTestCluster``), as
    ``jupyter remote-kernels install slurm --partition P --slurm-conf F`` fills it."""
    spec = json.loads((KERNELSPECS_DIR / "slurm" / "kernel.json").read_text())
    spec["argv"][0] = REMOTE_PYTHON
    spec["display_name"] = f"Python (Slurm, {partition})"
    spec["metadata"]["process_proxy"]["config"] = {
        "slurm_partition": partition,
        "slurm_conf": cluster.env()["SLURM_CONF"],
        "slurm_poll_interval": 0.5,
        **config,
    }
    return spec
