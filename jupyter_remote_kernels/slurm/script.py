"""The batch script of a kernel's job: the launcher's files, the job's variables, argv.

``sbatch`` reads the script on its standard input, so nothing of it appears in a command
line. The script carries the launcher itself (the compute nodes need only Python and
ipykernel, not this package): it writes the launcher's files into a private (0700) folder of
the node's ``$TMPDIR``, removes it when the launcher exits, and runs the kernelspec's argv
with ``{launcher}`` pointing there. The launch bundle is exported in the script as the
variable ``bundle_env`` names: base64url, so it needs no quoting; slurmctld keeps a job's
script in its state (see SECURITY.md for who can read it).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

__all__ = ["IN_JOB_SCRIPT", "job_script"]

#: What ``{launcher}`` becomes in a Slurm kernelspec's argv: "the script carries it".
IN_JOB_SCRIPT = "jrk-launcher-in-job-script"

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _heredoc(path: Path, marker: str) -> str:
    text = path.read_text()
    if any(line == marker for line in text.splitlines()):
        msg = f"{path} holds the line {marker!r}; it cannot travel in a job script"
        raise ValueError(msg)
    if not text.endswith("\n"):
        text += "\n"
    return f"cat > \"$jrk_dir/{path.name}\" <<'{marker}'\n{text}{marker}\n"


def job_script(
    argv: list[str],
    files: list[Path],
    env: dict[str, str],
    kernel_id: str,
) -> str:
    """The batch script running ``argv`` (whose ``{launcher}`` is :data:`IN_JOB_SCRIPT`).

    ``files`` are the launcher's files (the main one first), ``env`` the job's variables
    (each quoted for the shell; a name that is not a shell name is refused).
    """
    for name in env:
        if not _ENV_NAME.match(name):
            msg = f"{name!r} is not a valid environment variable name for a Slurm job"
            raise ValueError(msg)
    main = f'"$jrk_dir/{files[0].name}"'
    words = [main if arg == IN_JOB_SCRIPT else shlex.quote(arg) for arg in argv]
    lines = [
        "#!/bin/sh",
        f"# jupyter_remote_kernels: the launcher of kernel {kernel_id}, as a Slurm batch job.",
        "umask 077",
        *(f"export {name}={shlex.quote(value)}" for name, value in sorted(env.items())),
        'jrk_dir=$(mktemp -d "${TMPDIR:-/tmp}/jrk-launcher.XXXXXX") || exit 70',
        "trap 'rm -rf \"$jrk_dir\"' EXIT",
        # scancel signals every process of the job: the launcher stops its kernel and exits,
        # then this shell (which waits for it) leaves through the EXIT trap.
        "trap 'exit 143' TERM",
        "trap 'exit 129' HUP",
        *(_heredoc(path, f"JRK_END_OF_{path.stem.upper()}") for path in files),
        " ".join(words),
        "",
    ]
    return "\n".join(lines)
