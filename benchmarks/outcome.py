"""What every benchmark shares about its outcome: a configuration's measurement steps (the
first failure is its result, with its server's log kept) and the verdict over all results
(which configurations fail the run, which optional peer is only reported)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Callable

__all__ = ["StepsMixin", "failures", "left"]


class StepsMixin:
    """A configuration's steps: each runs unless an earlier one failed; a failure becomes
    the configuration's result (``failed`` and the kept server ``log``)."""

    #: What the kept server log's name starts with (``<prefix><name>-server.log``).
    log_prefix = ""
    name: str
    options: Any  # the run's options: ``out`` is the results folder
    result: dict
    server: Any  # a benchmarks.server.Server

    def step(self, what: Callable[..., None], *args: Any) -> None:
        """Run one measurement step unless an earlier one failed (then keep the log)."""
        if "failed" in self.result:
            return
        try:
            what(self, *args)
        except Exception as exc:
            log = Path(self.options.out) / f"{self.log_prefix}{self.name}-server.log"
            shutil.copy(self.server.log_path, log)
            self.result = {"failed": f"{type(exc).__name__}: {exc}"[:400], "log": str(log)}


def left(res: dict) -> dict[str, int]:
    """What a configuration or part left behind: its ``*_left_5s`` counts above zero
    (processes after restart, delete or server stop; YARN applications; Slurm jobs; pods)."""
    return {k: v for k, v in res.items() if k.endswith("_left_5s") and v}


def failures(results: dict, optional: Iterable[str]) -> list[str]:
    """The configurations and parts that fail the run, each said on stderr: an error
    (``error`` or ``failed``), or kernels, applications, jobs or pods left after restart,
    delete or stop. The optional peers' are reported, not fatal; a skipped peer is said."""
    failed = []
    for name, res in results.items():
        error = res.get("error", res.get("failed"))
        if error is not None:
            print(f"FAILED {name}: {error}\n  server log: {res.get('log', '-')}", file=sys.stderr)
        elif left(res):
            counts = ", ".join(f"{k} {v}" for k, v in sorted(left(res).items()))
            print(f"FAILED {name}: left behind: {counts}", file=sys.stderr)
        elif "skipped" in res:
            print(f"skipped {name} (optional peer): {res['skipped']}", file=sys.stderr)
            continue
        else:
            continue
        if name not in optional:
            failed.append(name)
    return failed
