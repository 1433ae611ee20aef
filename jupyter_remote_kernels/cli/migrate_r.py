"""``migrate`` for Enterprise Gateway's R kernelspecs: to this package's generic form.

EG runs IRkernel through its own R launcher, ``launch_IRkernel.R``: named in argv (``Rscript
.../launch_IRkernel.R --RemoteProcessProxy.kernel-id ...``) or, in EG's shipped specs
(``spark_R_yarn_client``, ``spark_R_yarn_cluster``...), submitted by the spec's
``bin/run.sh`` with spark-submit. That launcher needs R packages (argparse, SparkR...), a
Python ``server_listener.py`` with pycryptodomex, and calls back unauthenticated.

Migration keeps IRkernel and drops EG's launcher: this package's Python launcher starts
``R --slave -e IRkernel::main() --args {connection_file}`` (``process_proxy.config.kernel_argv``):

- a distributed (SSH) spec gets the launcher's argv (EG's option spellings kept,
  ``--public-key`` dropped) and runs R on its ``remote_hosts``; EG's client-mode Spark
  submission (``run.sh``) goes: the kernel starts no SparkR session (call
  ``SparkR::sparkR.session()`` in the notebook where the host has SparkR);
- a YARN cluster spec gets this package's ``run.sh`` (EG's kept as ``run.sh.eg-backup``) and
  the Spark template's argv; the launcher, Spark's driver, holds the SparkSession that makes
  the application master register; R runs beside it in the AM's container. Options that
  run.sh sets itself (master, deploy mode, name, waitAppCompletion, maxAppAttempts, the
  request's ``KERNEL_EXTRA_SPARK_OPTS``) leave ``SPARK_OPTS``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Optional

from ..errors import KernelspecError
from ..paths import KERNELSPECS_DIR

__all__ = ["IRKERNEL_ARGV", "RMigration", "eg_r_launch", "migrate_r_spec"]

#: IRkernel's own command (its kernelspec's argv).
IRKERNEL_ARGV = ["R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"]
_R_LAUNCHER = "launch_IRkernel.R"
_DISTRIBUTED = "DistributedProcessProxy"
_YARN_CLUSTER = "YarnClusterProcessProxy"
#: EG options whose values the generic launcher takes as they are.
_KEPT = (
    "kernel-id",
    "response-address",
    "port-range",
)
#: SPARK_OPTS options this package's run.sh sets itself.
_RUN_SH_OWN = re.compile(
    r"--(master|deploy-mode|name)\s+\S+|--conf\s+spark\.yarn\.(submit\.waitAppCompletion|"
    r"maxAppAttempts)=\S+|\$\{KERNEL_EXTRA_SPARK_OPTS\}"
)


class RMigration:
    """The migrated kernel.json, what changed, and the spec's files to replace."""

    def __init__(self, spec: dict[str, Any], changes: list[str], run_sh: Optional[bytes]):
        self.spec = spec
        self.changes = changes
        #: This package's run.sh for the spec's ``bin/run.sh`` (YARN cluster specs), or None.
        self.run_sh = run_sh


def eg_r_launch(spec: dict[str, Any], folder: Optional[Path]) -> Optional[str]:
    """How an EG kernelspec starts EG's R launcher: ``"argv"``, ``"run.sh"`` or None."""
    argv = [str(a) for a in spec.get("argv") or []]
    if any(a.endswith(_R_LAUNCHER) for a in argv):
        return "argv"
    script = Path(argv[0]) if argv else None
    if script is not None and script.name == "run.sh" and folder is not None:
        local = folder / "bin" / "run.sh"  # EG's argv names the installed path
        for candidate in (local, script):
            try:
                if _R_LAUNCHER in candidate.read_text(errors="replace"):
                    return "run.sh"
            except OSError:
                continue
    return None


def _options(argv: list[str]) -> tuple[list[str], str]:
    """EG's launcher options kept for ours, and the Spark context mode it asked for."""
    kept, mode, i = [], "none", 0
    while i < len(argv):
        name = argv[i].split(".", 1)[-1].lstrip("-") if argv[i].startswith("--") else ""
        if name in _KEPT and i + 1 < len(argv):
            kept += [argv[i], argv[i + 1]]
            i += 2
            continue
        if name == "spark-context-initialization-mode" and i + 1 < len(argv):
            mode = argv[i + 1]
            i += 2
            continue
        i += 1  # the launcher itself, --public-key and its value, anything else of EG's
    return kept, mode


def migrate_r_spec(spec: dict[str, Any], how: str) -> RMigration:
    """Migrate an EG R kernelspec started ``how`` (see :func:`eg_r_launch`)."""
    new = json_copy(spec)
    metadata = new.setdefault("metadata", {})
    proxy = metadata.get("process_proxy") or {}
    class_name = str(proxy.get("class_name", ""))
    changes = [f"{_R_LAUNCHER} -> this package's launcher running IRkernel (kernel_argv)"]
    kept, mode = _options([str(a) for a in spec.get("argv") or []])
    config = dict(proxy.get("config") or {})
    config["kernel_argv"] = list(IRKERNEL_ARGV)
    run_sh = None
    if class_name.endswith(_YARN_CLUSTER):
        template = KERNELSPECS_DIR / "yarn_spark"
        new["argv"] = [
            "{resource_dir}/bin/run.sh", "{launcher}", *kept, "--bundle-env", "{bundle_env}",
            "--spark-context-initialization-mode", mode if mode in ("lazy", "eager") else "lazy",
        ]
        run_sh = (template / "bin" / "run.sh").read_bytes()
        changes.append("bin/run.sh -> this package's (EG's kept as bin/run.sh.eg-backup)")
        env = dict(new.get("env") or {})
        if "SPARK_OPTS" in env:
            env["SPARK_OPTS"] = " ".join(_RUN_SH_OWN.sub(" ", env["SPARK_OPTS"]).split())
            changes.append("SPARK_OPTS: dropped what run.sh sets itself")
        new["env"] = env
        kind = "yarn"
    elif class_name.endswith(_DISTRIBUTED) or class_name == "ssh":
        new["argv"] = ["python3", "{launcher}", *kept]
        if how == "run.sh":
            changes.append("run.sh (client-mode spark-submit) no longer used: no SparkR session")
        elif mode != "none":
            changes.append(f"spark-context-initialization-mode {mode} dropped: no SparkR session")
        kind = "ssh"
    else:
        msg = (
            f"an R kernelspec of EG's {class_name or 'unknown'} process proxy: only the "
            "distributed (SSH) and YARN cluster ones are migrated; install one with "
            "`jupyter remote-kernels install KIND --from-kernelspec ir`"
        )
        raise KernelspecError(msg)
    metadata["process_proxy"] = {"class_name": kind, "config": config}
    changes.append(f"class_name -> {kind}")
    new["language"] = "R"
    return RMigration(new, changes, run_sh)


def json_copy(obj: Any) -> Any:
    return json.loads(json.dumps(obj))
