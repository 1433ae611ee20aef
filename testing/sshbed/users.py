"""OS users the bed's hosts also accept logins of (``SSHTestBed(users=...)``), e.g. kernels
that must run as two different users.

The hosts share this machine's ``/etc/passwd``: a user is made once with ``useradd`` and
kept (other beds, concurrent or later, use the same ones), marked as a test user in its
GECOS field; a user of that name that is not marked is refused, never changed. Made only
when missing, so calling this again is harmless. Needs root.
"""

from __future__ import annotations

import os
import pwd
import shlex
from pathlib import Path

from .procs import SSHTestBedError, run_cmd

__all__ = ["MARK", "ensure_user", "home_view_script"]

MARK = "jupyter_remote_kernels test user"


def ensure_user(name: str) -> pwd.struct_passwd:
    """The OS user ``name``, made with a home and bash when missing. Its password field is
    ``*`` (no password login; sshd, without PAM, refuses keys of a locked ``!`` account)."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        if os.geteuid() != 0:
            msg = f"test user {name!r} does not exist and only root can make it (useradd)"
            raise SSHTestBedError(msg) from None
        made = run_cmd(
            ["useradd", "--create-home", "--shell", "/bin/bash", "--user-group",
             "--comment", MARK, "--password", "*", name],
            check=False,
        )  # fmt: skip
        if made.returncode not in (0, 9):  # 9: made meanwhile by a concurrent bed
            msg = f"useradd {name} failed ({made.returncode}): {made.stderr.strip()}"
            raise SSHTestBedError(msg)
        entry = pwd.getpwnam(name)
    if MARK not in entry.pw_gecos:
        msg = f"user {name!r} exists but is not a test user ({MARK!r} not in its GECOS field)"
        raise SSHTestBedError(msg)
    return entry


def home_view_script(home: Path, view: Path) -> str:
    """Shell commands, for a host's own mount namespace, that make ``home`` (the bed user's,
    e.g. ``/root``, mode 0700) traversable there for the other users while its entries stay
    as they are: an empty folder of mode 0711 with every entry of ``home`` bound into it,
    bound over ``home``. The machine's ``home`` is untouched (the binds are private to the
    host). Needed when the kernels' Python lives in the bed user's home (pyenv in /root)."""
    h, v = shlex.quote(str(home)), shlex.quote(str(view))
    return (
        # slave already (ip netns exec): nothing bound here ever shows outside the host
        f"mount --make-rslave / && mkdir -p {v} && chmod 0711 {v} && "
        f"for e in {h}/* {h}/.[!.]* {h}/..?*; do "
        '[ -e "$e" ] || [ -L "$e" ] || continue; '
        f'n={v}/"${{e##*/}}"; '
        'if [ -d "$e" ] && [ ! -L "$e" ]; then mkdir -p "$n"; else : > "$n"; fi; '
        'mount --rbind "$e" "$n" || exit 1; '
        f"done && mount --rbind {v} {h}"
    )
