"""Run the YARN RM emulator standalone.

    python -m testing.yarn_emulator --port 8088 [--standby-of http://127.0.0.1:8088]

Prints ``YARN RM emulator listening on URL`` once it serves, runs until SIGTERM
or SIGINT, then stops (killing every AM process group it started).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .rm import YarnRM


def _queue(spec: str):
    name, _, limit = spec.partition("=")
    return name, (int(limit) if limit else None)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m testing.yarn_emulator",
                                description="YARN ResourceManager REST emulator")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any)")
    p.add_argument("--standby-of", metavar="URL",
                   help="be a STANDBY that answers /info and 307-redirects the rest to URL")
    p.add_argument("--queue", action="append", type=_queue, metavar="NAME[=MAX_RUNNING]",
                   help="a leaf queue, optionally with a max of running apps (repeatable)")
    p.add_argument("--start-seq", type=int, default=1)
    p.add_argument("--max-app-attempts", type=int, default=2)
    p.add_argument("--register-delay", type=float, default=0.2)
    p.add_argument("--kill-delay", type=float, default=0.2)
    p.add_argument("--kill-grace", type=float, default=3.0)
    p.add_argument("--require-user-name", action="store_true")
    p.add_argument("--auth-cookie", action="store_true",
                   help="answer ?user.name= requests with a hadoop.auth cookie")
    p.add_argument("--work-dir")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)

    rm = YarnRM(port=args.port, standby_of=args.standby_of, start_seq=args.start_seq,
                require_user_name=args.require_user_name, set_auth_cookie=args.auth_cookie,
                verbose=args.verbose, queues=dict(args.queue) if args.queue else None,
                max_app_attempts=args.max_app_attempts, register_delay=args.register_delay,
                kill_delay=args.kill_delay, kill_grace=args.kill_grace,
                work_dir=args.work_dir)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    rm.start()
    try:
        print(f"YARN RM emulator listening on {rm.url} ({rm.ha_state})", flush=True)
        while not done.wait(0.5):
            pass
    finally:
        rm.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
