"""A stand-in YARN ApplicationMaster for the RM emulator (standard library only).

    python3 am.py -- CMD ARGS...

The emulator's container launch (``launch_container.sh``) runs it as the AM of an
application submitted by :mod:`.submit`. Like a real AM it must *register* before YARN
shows the application RUNNING: a real AM calls ``registerApplicationMaster`` over the RM's
scheduler RPC; this one makes the emulator's documented stand-in for that call,
``POST $EMULATOR_AM_REGISTER_URL`` with ``{"attempt": $EMULATOR_AM_ATTEMPT, "token":
$EMULATOR_AM_TOKEN}`` (the NodeManager sets the three variables; the token stands in for
the AMRM token). ``EMULATOR_AM_REGISTER_DELAY`` (seconds, or ``never``) is how long the AM
takes to get there, as a Spark AM waits for its driver's SparkContext.

It then runs CMD as its child in the container's process group and exits with CMD's exit
code (0 stands in for ``finishApplicationMaster(SUCCEEDED)``). A CMD that ends before the
delay is over still gets its AM registered first, as an AM that registers and then finishes
(only ``never`` leaves it unregistered). An AM container that exits, even with 0, without
having registered fails its attempt on a real RM, and on the emulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request


def register() -> None:
    data = json.dumps(
        {"attempt": os.environ["EMULATOR_AM_ATTEMPT"], "token": os.environ["EMULATOR_AM_TOKEN"]}
    ).encode()
    request = urllib.request.Request(
        os.environ["EMULATOR_AM_REGISTER_URL"],
        data=data,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


def register_later(delay: str, child: subprocess.Popen, done: threading.Event) -> None:
    """Register after ``delay`` seconds, or at once when ``child`` ends before that."""
    try:
        if delay == "never":
            return
        deadline = time.monotonic() + float(delay or 0)
        while time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)
        try:
            register()
        except OSError as exc:
            print(f"am: registering with the RM failed: {exc}", file=sys.stderr, flush=True)
    finally:
        done.set()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: am.py -- CMD ARGS...", file=sys.stderr)
        return 2
    child = subprocess.Popen(argv)
    delay = os.environ.get("EMULATOR_AM_REGISTER_DELAY", "0")
    registered = threading.Event()
    threading.Thread(
        target=register_later, args=(delay, child, registered), daemon=True
    ).start()
    code = child.wait()
    registered.wait(15)  # registration's own timeout is 10 s
    return 128 - code if code < 0 else code  # like a shell: 128 + signal number


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
