"""``migrate`` for Enterprise Gateway's R kernelspecs: to this package's generic form.

EG runs IRkernel through its own R launcher, ``launch_IRkernel.R``: named in argv (``Rscript
.../launch_IRkernel.R --RemoteProcessProxy.kernel-id ...``) or, in EG's shipped specs
(``spark_R_yarn_client``, ``spark_R_yarn_cluster``...), submitted by the spec's
``bin/run.sh``. That launcher needs R packages (argparse, SparkR...), a Python
``server_listener.py`` with pycryptodomex, and calls back unauthenticated.

Migration keeps IRkernel and drops EG's launcher: the spec's backend (by its EG class name)
gets the argv of its own template and the template's other files (a ``run.sh``; the spec's
own are kept as ``*.eg-backup``), and this package's Python launcher starts ``R --slave -e
IRkernel::main() --args {connection_file}`` (``process_proxy.config.kernel_argv``). The
spec's ``env`` goes through the backend's ``eg_env`` (what its template's script sets
itself leaves EG's options). Where the template has a Spark context mode it is ``lazy`` (the
launcher's session only makes YARN's AM register); elsewhere EG's Spark submission goes and
the kernel starts no SparkR session.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from ..backends import backends
from ..errors import KernelspecError
from ..kernelspecs import eg_class_names
from ..paths import KERNELSPECS_DIR

__all__ = ["IRKERNEL_ARGV", "RMigration", "eg_r_launch", "migrate_r_spec"]

#: IRkernel's own command (its kernelspec's argv).
IRKERNEL_ARGV = ["R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"]
_R_LAUNCHER = "launch_IRkernel.R"
_SPARK_MODE = "spark-context-initialization-mode"


class RMigration:
    """The migrated kernel.json, what changed, and the template files to write beside it."""

    def __init__(
        self, spec: dict[str, Any], changes: list[str], files: dict[str, tuple[bytes, int]]
    ) -> None:
        self.spec = spec
        self.changes = changes
        #: Relative path -> (content, mode) of the backend template's files (a run.sh).
        self.files = files


def eg_r_launch(spec: dict[str, Any], folder: Optional[Path]) -> Optional[str]:
    """How an EG kernelspec starts EG's R launcher: ``"argv"``, ``"script"`` or None."""
    argv = [str(a) for a in spec.get("argv") or []]
    if any(a.endswith(_R_LAUNCHER) for a in argv):
        return "argv"
    script = Path(argv[0]) if argv else None
    if script is not None and script.suffix == ".sh" and folder is not None:
        local = folder / "bin" / script.name  # EG's argv names the installed path
        for candidate in (local, script):
            try:
                if _R_LAUNCHER in candidate.read_text(errors="replace"):
                    return "script"
            except OSError:
                continue
    return None


def _spark_mode(argv: list[str]) -> str:
    for option, value in zip(argv, argv[1:]):
        if option.lstrip("-").split(".")[-1] == _SPARK_MODE:
            return value
    return "none"


def _template(kind: str) -> tuple[list[str], dict[str, tuple[bytes, int]]]:
    """The backend ``kind``'s template argv (its Python: ``python3``) and other files."""
    template = backends()[kind].template
    folder = template if isinstance(template, Path) else KERNELSPECS_DIR / template
    argv = json.loads((folder / "kernel.json").read_text())["argv"]
    argv = ["python3" if arg == "@@PYTHON@@" else arg for arg in argv]
    files = {
        str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mode & 0o777)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "kernel.json"
    }
    unfilled = [a for a in argv if "@@" in a] + [n for n, (b, _) in files.items() if b"@@" in b]
    if unfilled:
        msg = f"the {kind} template needs install-time values ({unfilled[0]}): use install"
        raise KernelspecError(msg)
    return argv, files


def migrate_r_spec(spec: dict[str, Any], how: str) -> RMigration:
    """Migrate an EG R kernelspec started ``how`` (see :func:`eg_r_launch`)."""
    new = json.loads(json.dumps(spec))
    metadata = new.setdefault("metadata", {})
    proxy = metadata.get("process_proxy") or {}
    class_name = str(proxy.get("class_name", ""))
    kind = eg_class_names().get(class_name) or (class_name if class_name in backends() else "")
    if not kind:
        msg = (
            f"EG's process proxy {class_name or '(none)'} has no backend here; install an R "
            "kernelspec with `jupyter remote-kernels install KIND --from-kernelspec ir`"
        )
        raise KernelspecError(msg)
    argv, files = _template(kind)
    changes = [f"{_R_LAUNCHER} -> this package's launcher running IRkernel (kernel_argv)"]
    mode = _spark_mode([str(a) for a in spec.get("argv") or []])
    if f"--{_SPARK_MODE}" in argv:
        # The launcher holds the session, only so that YARN's AM registers: R does not use
        # it, so "eager" would only keep the kernel from answering until it exists.
        argv[argv.index(f"--{_SPARK_MODE}") + 1] = "lazy"
        if mode != "lazy":
            changes.append(f"{_SPARK_MODE} {mode} -> lazy (R gets no session from it)")
    elif how == "script" or mode != "none":
        changes.append("EG's Spark submission and context dropped: no SparkR session")
    new["argv"] = argv
    if files:
        changes.append(f"{', '.join(files)} -> this package's (the spec's kept as *.eg-backup)")
    eg_env = backends()[kind].eg_env
    if eg_env is not None and new.get("env"):
        env = eg_env(dict(new["env"]))
        changes.extend(f"env {key}: as this package's template needs it"
                       for key in env if env[key] != new["env"].get(key))
        new["env"] = env
    config = dict(proxy.get("config") or {})
    config["kernel_argv"] = list(IRKERNEL_ARGV)
    metadata["process_proxy"] = {"class_name": kind, "config": config}
    changes.append(f"class_name -> {kind}")
    new["language"] = "R"
    return RMigration(new, changes, files)
