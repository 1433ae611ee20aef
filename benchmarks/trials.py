"""The benchmark's configurations (``plain``, ``ours-local``, ``ours-ssh``, ``ours-slurm``,
``gp-ssh``):
making each one's server, one trial of it, and the medians over its trials."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from testing.specs import REMOTE_PYTHON, shipped_local_spec, slurm_spec, ssh_spec
from testing.sshbed import SSHTestBed

from .server import Server, free_port
from .steps import measure, stop_check

GP_INSTALL = "pip install gateway_provisioners jupyter_server ipykernel pycryptodomex"


class PeerAbsent(RuntimeError):
    """The optional peer (gateway_provisioners' venv) is not installed: skip it, saying so."""


def gp_setup(workdir: Path, gp_python: str, bed: SSHTestBed) -> tuple[dict, Path]:
    """gateway_provisioners' ssh kernelspec for the bed hosts, and its server's env.

    Raises PeerAbsent when its venv is missing or incomplete, RuntimeError when it is there
    but cannot be set up.
    """
    if not Path(gp_python).exists():
        msg = f"no {gp_python} (make a venv there: {GP_INSTALL})"
        raise PeerAbsent(msg)
    probe = subprocess.run(
        [gp_python, "-c", "import gateway_provisioners, jupyter_server, ipykernel, Cryptodome"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if probe.returncode:
        msg = f"{gp_python} lacks a package ({probe.stderr.strip().splitlines()[-1]}): {GP_INSTALL}"
        raise PeerAbsent(msg)
    if bed.mode != "netns" or len({h.port for h in bed.hosts}) != 1:
        msg = "GP has one SSH port for all hosts (GP_SSH_PORT): needs the bed's netns mode (root)"
        raise PeerAbsent(msg)
    prefix = workdir / "gpdata"
    spec_app = Path(gp_python).parent / "jupyter-ssh-spec"
    hosts = [arg for h in bed.hosts for arg in ("--remote-hosts", h.address)]
    made = subprocess.run(
        [str(spec_app), "install", "--kernel-name", "gp-ssh", "--prefix", str(prefix), *hosts],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    spec_file = prefix / "share" / "jupyter" / "kernels" / "gp-ssh" / "kernel.json"
    if made.returncode or not spec_file.exists():
        msg = f"jupyter-ssh-spec install failed: {(made.stderr or made.stdout).strip()[-300:]}"
        raise RuntimeError(msg)
    spec = json.loads(spec_file.read_text())
    # GP sends argv as written; the hosts share this machine's files, so the venv's Python
    # (with ipykernel and pycryptodomex) and the installed launcher path work there.
    spec["argv"][0] = gp_python
    spec_file.write_text(json.dumps(spec, indent=1))
    home = workdir / "home"  # GP's paramiko reads ~/.ssh: the bed's client key and host keys
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    shutil.copy(bed.client_key_path, home / ".ssh" / "id_ed25519")
    shutil.copy(bed.known_hosts_path, home / ".ssh" / "known_hosts")
    (workdir / "logs").mkdir()
    env = {
        "HOME": str(home),
        "GP_REMOTE_USER": bed.user,
        "GP_SSH_PORT": str(bed.hosts[0].port),
        "GP_RESPONSE_IP": bed.route_source_address,
        "GP_RESPONSE_PORT": str(free_port()),
        "GP_UNAUTHORIZED_USERS": "nobody",  # its default (root) refuses a root-run server
        "GP_KERNEL_LOG_DIR": str(workdir / "logs"),
        "GP_LOAD_BALANCING_ALGORITHM": "round-robin",
    }
    return env, prefix / "share" / "jupyter"


def make_server(name: str, workdir: Path, bed: SSHTestBed, options) -> Server:
    ours = {"jupyter_remote_kernels": True}
    plain = {
        "argv": [REMOTE_PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "plain",
        "language": "python",
    }
    if name == "plain":
        return Server(workdir, sys.executable, {name: plain}, {})
    if name == "ours-local":
        return Server(workdir, sys.executable, {name: shipped_local_spec()}, ours)
    if name == "ours-ssh":
        return Server(workdir, sys.executable, {name: ssh_spec(bed)}, ours)
    if name == "ours-slurm":
        # The real Slurm cluster's "shared" partition: its CPUs take many kernels at once.
        spec = slurm_spec(options.slurm_cluster, "shared")
        return Server(workdir, sys.executable, {name: spec}, ours)
    env, data = gp_setup(workdir, options.gp_python, bed)
    return Server(workdir, options.gp_python, {}, {}, env=env, data=data)


def run_trial(name: str, trial: int, tmp: Path, bed: SSHTestBed, options) -> dict:
    """One trial of one configuration on a fresh server.

    Returns its measurements, ``{"absent": reason}`` for a missing optional peer, or
    ``{"error": ..., "log": ...}`` when something failed (the log is kept).
    """
    workdir = tmp / f"{name}-trial{trial + 1}"
    workdir.mkdir()
    load = os.getloadavg()[0]
    server = None
    try:
        server = make_server(name, workdir, bed, options)
        kernel = "gp-ssh" if name == "gp-ssh" else name
        res = measure(server, kernel, options.repeat, trials=1)
        if trial == options.trials - 1:
            res.update(stop_check(server, kernel))
        failed = {k: v for k, v in res.items() if k.endswith("_error")}
        if failed:
            raise RuntimeError("; ".join(f"{k}: {v}" for k, v in failed.items()))
    except PeerAbsent as exc:
        return {"absent": str(exc)}
    except Exception as exc:
        log = keep_log(workdir, name, trial, options)
        return {"error": f"{type(exc).__name__}: {exc}"[:600], "log": log}
    finally:
        if server is not None:
            server.stop()
        if options.keep_logs and server is not None:
            options.keep_logs.mkdir(parents=True, exist_ok=True)
            shutil.copy(server.log_path, options.keep_logs / f"{name}-trial{trial + 1}.log")
    res["load_1min"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    return res


def keep_log(workdir: Path, name: str, trial: int, options) -> str:
    """Copy a failed run's server log out of the temporary folder; its new path."""
    folder = options.failed_logs
    folder.mkdir(parents=True, exist_ok=True)
    source = workdir / "server.log"
    target = folder / f"{name}-trial{trial + 1}.log"
    if source.exists():
        shutil.copy(source, target)
        return str(target)
    return f"(no server log: the server was not started; workdir {workdir})"


def combine(trials: list[dict]) -> dict:
    """Medians over the trials of one configuration (worst bursts kept), or its failure."""
    errors = [t for t in trials if "error" in t]
    if errors:
        return {"error": errors[0]["error"], "log": errors[0]["log"], "trials": trials}
    if any("absent" in t for t in trials):
        return {"skipped": next(t["absent"] for t in trials if "absent" in t)}
    out: dict = {"trials": trials}
    keys = {k for t in trials for k, v in t.items() if isinstance(v, (int, float))}
    for key in sorted(keys):
        values = [t[key] for t in trials if isinstance(t.get(key), (int, float))]
        if key.endswith(("_left_5s", "_failed", "_worst")):
            out[key] = max(values)  # the worst trial
        else:
            out[key] = statistics.median(values)
    return out


