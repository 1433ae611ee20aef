"""Benchmark helper: a Jupyter Server extension that measures the server's event-loop lag.

Enabled with ``--ServerApp.jpserver_extensions={'benchmarks.lagprobe': True}`` (the repo on
PYTHONPATH). A task sleeps 10 ms in a loop on the server's event loop and records how much
later than asked it woke up; ``GET /api/bench/lag`` returns the largest lateness since the
last ``POST /api/bench/lag`` (which resets it). Imports only Jupyter Server and tornado, so
it also runs in gateway_provisioners' own venv.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
import traceback

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop

INTERVAL = 0.010


class LagProbe:
    def __init__(self) -> None:
        self.max_late = 0.0
        self.samples = 0
        self.since = self.tick = time.monotonic()
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.ensure_future(self.run())
        if os.environ.get("JRK_LAGPROBE_STACKS"):
            # Debugging aid: print the event loop's stack whenever it is 200 ms late.
            self.loop_thread = threading.get_ident()
            threading.Thread(target=self.watch, daemon=True, name="lagprobe").start()

    def watch(self) -> None:
        while True:
            time.sleep(0.05)
            if time.monotonic() - self.tick > 0.2:
                names = {t.ident: t.name for t in threading.enumerate()}
                stacks = []
                for ident, frame in sys._current_frames().items():
                    lines = traceback.format_stack(frame)[-6:]
                    stacks.append(f"-- {names.get(ident, ident)}:\n" + "".join(lines))
                late = time.monotonic() - self.tick
                print(f"LAGPROBE loop late {late:.2f} s:\n" + "\n".join(stacks),
                      file=sys.stderr, flush=True)

    async def run(self) -> None:
        while True:
            asked = self.tick = time.monotonic()
            await asyncio.sleep(INTERVAL)
            late = time.monotonic() - asked - INTERVAL
            self.samples += 1
            self.max_late = max(self.max_late, late)

    def reset(self) -> None:
        self.max_late, self.samples, self.since = 0.0, 0, time.monotonic()

    def report(self) -> dict:
        return {"max_late_ms": self.max_late * 1000, "samples": self.samples,
                "window_s": time.monotonic() - self.since, "interval_ms": INTERVAL * 1000}


PROBE = LagProbe()


class LagHandler(APIHandler):
    @web.authenticated
    def get(self) -> None:
        self.finish(json.dumps(PROBE.report()))

    @web.authenticated
    def post(self) -> None:
        PROBE.reset()
        self.finish(json.dumps(PROBE.report()))


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "benchmarks.lagprobe"}]


def _load_jupyter_server_extension(serverapp) -> None:
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [(url_path_join(base, "api/bench/lag"), LagHandler)])
    IOLoop.current().add_callback(PROBE.start)
