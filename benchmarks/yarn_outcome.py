"""What decides the YARN benchmark's outcome (:mod:`benchmarks.yarn`): which setups fail
the run or only skip the optional peer, and which results fail it."""

from __future__ import annotations

from . import outcome

__all__ = ["OPTIONAL", "failures", "make_configs"]

OPTIONAL = ("gp-yarn",)  # the peer may be absent (skipped); ours must run


def make_configs(names: list[str], make, results: dict) -> list:
    """``make(name)`` for each configuration; a setup that fails is recorded in
    ``results``: as skipped for the optional peer whose venv is missing
    (FileNotFoundError), as failed otherwise (ours-yarn's FileNotFoundError included)."""
    configs = []
    for name in names:
        try:
            configs.append(make(name))
        except FileNotFoundError as exc:
            if name in OPTIONAL:  # the optional peer is not installed
                results[name] = {"skipped": str(exc)}
            else:
                results[name] = {"failed": f"setup: {type(exc).__name__}: {exc}"[:400],
                                 "log": "-"}  # fmt: skip
        except Exception as exc:
            results[name] = {"failed": f"{type(exc).__name__}: {exc}"[:400],
                             "log": "-"}  # fmt: skip
    return configs


def failures(results: dict) -> list[str]:
    """Configurations of ours that fail the run (:func:`.outcome.failures`): a failure, or
    applications left after a restart, delete or server stop. The peer's are only reported."""
    return outcome.failures(results, OPTIONAL)
