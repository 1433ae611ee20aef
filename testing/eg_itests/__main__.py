"""``python -m testing.eg_itests fetch``: Enterprise Gateway's sdist into the cache."""

from __future__ import annotations

import sys

from . import EgItestsError, fetch


def main(argv: list[str]) -> int:
    if argv != ["fetch"]:
        print("usage: python -m testing.eg_itests fetch", file=sys.stderr)
        return 2
    try:
        print(fetch())
    except EgItestsError as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
