"""The emulator's NodeManager side: ``launch_container.sh`` as Hadoop writes it and
the AM process groups (signals, members, exit codes without reaping)."""

from __future__ import annotations

import os
import re
from typing import Optional

from .model import YarnAttempt


def launch_script(env: dict, command: str, log_dir: str, inherited) -> str:
    """``launch_container.sh`` as Hadoop's ``UnixShellScriptBuilder`` writes it.

    Every variable is ``export NAME="VALUE"`` and the command ``exec /bin/bash -c
    "COMMAND"``, neither escaped; variables of the NodeManager's whitelist keep a value the
    NodeManager's own environment has and the app does not set (``inherited``) are written
    ``export NAME=${NAME:-"VALUE"}``.
    """
    lines = [
        "#!/bin/bash",
        "",
        "set -o pipefail -e",
        f'export PRELAUNCH_OUT="{log_dir}/prelaunch.out"',
        'exec >"${PRELAUNCH_OUT}"',
        f'export PRELAUNCH_ERR="{log_dir}/prelaunch.err"',
        'exec 2>"${PRELAUNCH_ERR}"',
        'echo "Setting up env variables"',
    ]
    for name, value in env.items():
        if name in inherited:
            lines.append(f'export {name}=${{{name}:-"{value}"}}')
        else:
            lines.append(f'export {name}="{value}"')
    lines += [
        'echo "Launching container"',
        f'exec /bin/bash -c "{command}"',
        "",
    ]
    return "\n".join(lines)


def expand(text: str, log_dir: str) -> str:
    """NM command/env expansion: <LOG_DIR>, <CPS>, {{VAR}}."""
    text = text.replace("<LOG_DIR>", log_dir).replace("<CPS>", ":")
    return re.sub(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}", r"$\1", text)


def killpg(pgid: Optional[int], sig: int) -> None:
    """Signal a process group this emulator created (pgid == AM leader pid)."""
    if not pgid:
        return
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def group_members(pgid: int) -> list:
    """Live (non-zombie) processes of a process group."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


def leader_exited(att: YarnAttempt) -> Optional[int]:
    """Exit code of the AM leader if it exited, without reaping it (WNOWAIT).

    The zombie keeps its pid, so the pgid cannot be reused by another process
    while leftovers of the group are being killed.
    """
    try:
        res = os.waitid(os.P_PID, att.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        code = att.proc.returncode
        return code if code is None or code >= 0 else 128 - code
    if res is None or res.si_pid == 0:
        return None
    if res.si_code == os.CLD_EXITED:
        return res.si_status
    return 128 + res.si_status  # killed by a signal, as the shell/NM reports it

