"""Counts of the fault and abuse suite, printed at the end of the test run (see conftest)."""

from __future__ import annotations

import collections

#: "inputs": hostile inputs tried (spoofed callbacks, junk, bad messages); "faults":
#: faults injected (RM errors and hangs, hosts going down, processes killed); "cycles":
#: ordinary start/stop cycles run to look for leaks (not faults); "leaked": processes
#: found alive afterwards.
COUNTS: collections.Counter[str] = collections.Counter()
