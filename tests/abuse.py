"""Counts of the fault and abuse suite, printed at the end of the test run (see conftest)."""

from __future__ import annotations

import collections

#: "inputs" tried, "faults" injected, "leaked" processes found afterwards.
COUNTS: collections.Counter[str] = collections.Counter()
