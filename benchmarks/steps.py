"""The measured steps of one configuration on its server: sequential starts, execute and
interrupt round trips, restart and delete leftovers, bursts of concurrent starts (with the
event-loop lag and ``/api/status`` latency meanwhile), and what a server stop leaves."""

from __future__ import annotations

import concurrent.futures as cf
import statistics
import threading
import time

import requests

from testing.specs import pids_mentioning

from .server import Server, execute, reply_and_idle, send_execute, wait_for_message


def alive(kernel_ids: list[str]) -> int:
    """Processes (on this machine and every bed host: one PID space) of these kernels."""
    return sum(len(pids_mentioning(k)) for k in kernel_ids)


def poll_status(server: Server, stop: threading.Event, out: list, errors: list) -> None:
    """GET /api/status every 20 ms; records each request's latency (bounded by `stop`)."""
    session = requests.Session()
    for _ in range(100_000):
        if stop.is_set():
            return
        t = time.monotonic()
        try:
            r = session.get(f"{server.url}/api/status", headers=server.headers, timeout=30)
            if r.status_code != 200:
                errors.append(r.status_code)
        except requests.RequestException as exc:
            errors.append(type(exc).__name__)
        out.append(time.monotonic() - t)
        stop.wait(0.02)


def concurrent_starts(server: Server, name: str, n: int) -> dict:
    stop, lat, errors = threading.Event(), [], []
    poller = threading.Thread(target=poll_status, args=(server, stop, lat, errors), daemon=True)
    rss = server.rss_mb()
    server.lag(reset=True)
    poller.start()
    t = time.monotonic()
    with cf.ThreadPoolExecutor(n) as pool:
        results = list(pool.map(lambda _: _try_start(server, name), range(n)))
    wall = time.monotonic() - t
    lag_ms = server.lag()
    stop.set()
    poller.join(35)
    ids = [kid for kid, _ in results if kid]
    failed = [err for _, err in results if err]
    out = {
        "wall_s": wall,
        "status_max_ms": max(lat or [0.0]) * 1000,
        "lag_max_ms": lag_ms,
        "rss_per_kernel_mb": (server.rss_mb() - rss) / max(1, len(ids)),
        "failed": len(failed),
    }
    if failed:
        out["first_error"] = failed[0][:300]
    if errors:
        out["status_errors"] = len(errors)
    server.delete_all(ids)
    return out


def _try_start(server: Server, name: str) -> tuple[str, str]:
    try:
        return server.start(name)[0], ""
    except Exception as exc:
        return "", f"{type(exc).__name__}: {exc}"


def interrupt_once(server: Server, ws, kernel_id: str, seconds: int = 30) -> float:
    """Seconds one interrupt takes: from the REST call until the kernel is idle again.

    RuntimeError when the call is refused or the kernel was not interrupted (its reply is
    not a ``KeyboardInterrupt``): an interrupt that did nothing is no measurement.
    """
    msg_id = send_execute(ws, f"import time; time.sleep({seconds})")
    wait_for_message(ws, msg_id, "execute_input", 10)
    time.sleep(0.3)  # inside time.sleep by now: SIGINT outside user code upsets ipykernel
    t = time.monotonic()
    r = requests.post(
        f"{server.url}/api/kernels/{kernel_id}/interrupt", headers=server.headers, timeout=30
    )
    reply, took = reply_and_idle(ws, msg_id, seconds + 30, started=t)
    if r.status_code != 204:
        msg = f"interrupt: POST answered {r.status_code} {r.text[:300]}"
        raise RuntimeError(msg)
    if reply.get("ename") != "KeyboardInterrupt":
        msg = (
            f"interrupt: the kernel was not interrupted (its reply after {took:.1f} s: "
            f"status {reply.get('status')!r}, ename {reply.get('ename')!r})"
        )
        raise RuntimeError(msg)
    return took


def measure(server: Server, name: str, repeat: int, trials: int = 3) -> dict:
    res: dict = {}
    starts, ids = [], []
    for _ in range(repeat):
        kid, dt = server.start(name)
        starts.append(dt)
        ids.append(kid)
    res["start_s"] = statistics.median(starts)
    ws = server.channel(ids[0])
    rtts = []
    for _ in range(20):
        t = time.monotonic()
        execute(ws, "1+1")
        rtts.append(time.monotonic() - t)
    res["execute_ms"] = statistics.median(rtts) * 1000
    res["interrupt_ms"] = (
        statistics.median(interrupt_once(server, ws, ids[0]) for _ in range(3)) * 1000
    )
    ws.close()
    old = pids_mentioning(ids[0])
    requests.post(
        f"{server.url}/api/kernels/{ids[0]}/restart", headers=server.headers, timeout=60
    ).raise_for_status()
    time.sleep(5)
    res["restart_left_5s"] = len([p for p in old if p in pids_mentioning(ids[0])])
    shut = [server.delete(k) for k in ids]
    res["shutdown_s"] = statistics.median(shut)
    time.sleep(5)
    res["delete_left_5s"] = alive(ids)
    for n in (10, 20):
        # One burst's maximum stall is at the mercy of the 2 cores' scheduling: each figure
        # is the median over `trials` bursts; the worst burst is kept in the JSON too.
        bursts = []
        for _ in range(trials):
            bursts.append(concurrent_starts(server, name, n))
            time.sleep(2)
        for key, field in (
            ("wall_s", f"concurrent{n}_s"),
            ("status_max_ms", f"status_max_ms_{n}"),
            ("lag_max_ms", f"lag_max_ms_{n}"),
        ):
            res[field] = statistics.median(c[key] for c in bursts)
            res[f"{field}_worst"] = max(c[key] for c in bursts)
        failed = [c for c in bursts if c["failed"]]
        if failed:
            res[f"concurrent{n}_failed"] = sum(c["failed"] for c in failed)
            res[f"concurrent{n}_error"] = failed[0]["first_error"]
        status_errors = sum(c.get("status_errors", 0) for c in bursts)
        if status_errors:
            res[f"status_errors_{n}"] = status_errors
        if n == 20:
            res["rss_per_kernel_mb"] = statistics.median(c["rss_per_kernel_mb"] for c in bursts)
    return res


def stop_check(server: Server, name: str, n: int = 4) -> dict:
    """Start n kernels, stop the server (SIGTERM); processes of them alive 5 s later."""
    ids = [server.start(name)[0] for _ in range(n)]
    server.stop()
    time.sleep(5)
    return {"stop_left_5s": alive(ids)}

