"""The warm pool parts of the benchmark (issue 15): ``pool-local``, ``pool-ssh``,
``pool-yarn``, ``pool-slurm`` and ``pool-refill``.

A placement's part (``pool-<placement>``) runs one server of this extension with two
kernelspecs of that placement, the same but for ``process_proxy.config.pool_size``:
``<placement>-warm`` (pool_size 2) and ``<placement>-cold`` (pool_size 0), and compares,
round after round (``--repeat`` rounds; ``--cluster-repeat`` for YARN and Slurm), start ->
first execute reply of

* a start from the warm pool, once the pool is full again;
* a plain ipykernel cold start on a stock Jupyter Server (one for all parts, started at the
  first part, stopped at the end);
* a cold start of the same placement (the pool_size 0 kernelspec).

Each measured start waits until the pool is full and none of its kernels is launching, and
its kernel is deleted before the next one, so all three meet the same quiet server. A warm
start whose kernel was not one of the pool's ready kernels (a failed hand-out falls back to
a cold start) fails the part. ``pool-refill``: a local kernelspec with pool_size 10; in
each of ``--cluster-repeat`` rounds, once the pool is full, 10 concurrent starts, then the
seconds until ``/api/remote-kernels/pools`` shows ``ready == target`` again.

After each part its server is stopped (SIGTERM); the part counts what is left 5 s later:
processes of any kernel it saw (users' and pool kernels, on this machine and on the bed's
hosts), and for YARN the cluster's live applications, for Slurm its live jobs.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path

import requests

from testing.specs import REMOTE_PYTHON, shipped_local_spec, slurm_spec, ssh_spec
from testing.yarncluster import YarnTestCluster

from .server import Server
from .steps import alive

PARTS = ("pool-local", "pool-ssh", "pool-yarn", "pool-slurm", "pool-refill")
POOL_SIZE = 2
BURST = 10
#: Server settings of every pool part: pools checked every second (so a dropped kernel is
#: seen quickly); the refill delay and launches at once are the defaults, said in the report.
POOL_ARGS = ["--RemoteMappingKernelManager.pool_check_interval=1"]
YARN_LIVE = ["NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING"]
PLAIN = {
    "argv": [REMOTE_PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
    "display_name": "plain",
    "language": "python",
}


class PoolRun:
    """What the pool parts of one run share: the plain server, the SSH bed, the Slurm
    cluster of the run (when one was started) and the options."""

    def __init__(self, tmp: Path, bed, options) -> None:
        self.tmp, self.bed, self.options = tmp, bed, options
        self._plain: Server | None = None
        self.stack = contextlib.ExitStack()

    def plain(self) -> Server:
        """The stock Jupyter Server of the plain cold starts (started once)."""
        if self._plain is None:
            workdir = self.tmp / "pool-plain"
            workdir.mkdir()
            self._plain = Server(workdir, sys.executable, {"plain": PLAIN}, {})
            self.stack.callback(self._plain.stop)
        return self._plain

    def close(self) -> None:
        self.stack.close()


def with_pool(spec: dict, size: int) -> dict:
    """A copy of ``spec`` with ``process_proxy.config.pool_size`` = size."""
    spec = json.loads(json.dumps(spec))
    spec["metadata"]["process_proxy"].setdefault("config", {})["pool_size"] = size
    return spec


# ---------------------------------------------------------------------------- the server


def pools(server: Server) -> list[dict]:
    r = requests.get(f"{server.url}/api/remote-kernels/pools", headers=server.headers, timeout=30)
    r.raise_for_status()
    return r.json()


def pool_state(server: Server, kernel_name: str) -> dict:
    found = [p for p in pools(server) if p["kernel_name"] == kernel_name]
    return found[0] if found else {}


def pooled_ids(server: Server, kernel_name: str) -> set[str]:
    """Ids of the pool's ready kernels (``phase: pooled`` in /api/remote-kernels)."""
    r = requests.get(f"{server.url}/api/remote-kernels", headers=server.headers, timeout=30)
    r.raise_for_status()
    return {
        m["kernel_id"]
        for m in r.json()
        if m.get("pool") and m["kernel_name"] == kernel_name
        and m["placement"]["phase"] == "pooled"
    }  # fmt: skip


def pool_kernel_ids(server: Server) -> set[str]:
    """Every pool kernel's id (ready or launching), for the leftover count."""
    r = requests.get(f"{server.url}/api/remote-kernels", headers=server.headers, timeout=30)
    r.raise_for_status()
    return {m["kernel_id"] for m in r.json() if m.get("pool")}


def wait_full(server: Server, kernel_name: str, timeout: float) -> float:
    """Wait until the pool has its target of ready kernels and none launching; returns
    the seconds waited. RuntimeError (with the pool's state) after ``timeout``."""
    t = time.monotonic()
    deadline = t + timeout
    state: dict = {}
    while time.monotonic() < deadline:
        state = pool_state(server, kernel_name)
        if (
            state
            and state["target"]
            and state["ready"] >= state["target"]
            and not state["launching"]
        ):
            return time.monotonic() - t
        time.sleep(0.1)
    msg = f"pool {kernel_name} not full after {timeout:.0f} s: {state or 'no such pool'}"
    raise RuntimeError(msg)


def leftovers(server: Server, ids: set[str], cluster=None, kind: str = "") -> dict:
    """Stop the server (SIGTERM); what is left of its kernels 5 s later."""
    if server.proc.poll() is None:
        with contextlib.suppress(requests.RequestException):
            ids |= pool_kernel_ids(server)
    server.stop()
    time.sleep(5)
    out = {"stop_left_5s": alive(sorted(ids))}
    if kind == "yarn":
        out["apps_left_5s"] = len(cluster.apps(states=YARN_LIVE))
    elif kind == "slurm":
        out["jobs_left_5s"] = len(cluster.jobs())
    return out


# ---------------------------------------------------------------------------- the parts


def placement_part(run: PoolRun, placement: str, spec: dict | None, timeout: float,
                   cluster=None, env: dict | None = None,
                   data: Path | None = None) -> dict:  # fmt: skip
    """One placement: warm, plain and cold starts in rounds (see the module docstring).

    ``spec``: the placement's kernelspec, written as ``<placement>-warm`` and ``-cold``;
    None when both are installed in ``data`` already (by our CLI).
    """
    warm_name, cold_name = f"{placement}-warm", f"{placement}-cold"
    specs = {} if spec is None else {
        warm_name: with_pool(spec, POOL_SIZE), cold_name: with_pool(spec, 0)}  # fmt: skip
    workdir = run.tmp / f"pool-{placement}"
    workdir.mkdir()
    plain = run.plain()
    server = Server(workdir, sys.executable, specs, {"jupyter_remote_kernels": True},
                    env=env, data=data, args=POOL_ARGS)  # fmt: skip
    ids: set[str] = set()
    res: dict = {"pool_size": POOL_SIZE}
    try:
        res["fill_s"] = wait_full(server, warm_name, timeout)
        warm, cold, plain_s, missed = [], [], [], []
        rounds = run.options.cluster_repeat if cluster is not None else run.options.repeat
        for _ in range(rounds):
            wait_full(server, warm_name, timeout)
            ready = pooled_ids(server, warm_name)
            ids |= ready
            kernel_id, took = server.start(warm_name, timeout=timeout)
            ids.add(kernel_id)
            warm.append(took)
            if kernel_id not in ready:
                missed.append(pool_state(server, warm_name).get("detail") or "no detail")
            server.delete(kernel_id)
            wait_full(server, warm_name, timeout)
            kernel_id, took = plain.start("plain")
            ids.add(kernel_id)  # its processes are counted after the part too
            plain_s.append(took)
            plain.delete(kernel_id)
            wait_full(server, warm_name, timeout)
            kernel_id, took = server.start(cold_name, timeout=timeout)
            ids.add(kernel_id)
            cold.append(took)
            server.delete(kernel_id)
        res.update(
            warm_s=statistics.median(warm),
            warm_max_s=max(warm),
            plain_s=statistics.median(plain_s),
            cold_s=statistics.median(cold),
            starts={"warm": rounded(warm), "plain": rounded(plain_s), "cold": rounded(cold)},
        )
        if missed:
            res["error"] = (
                f"{len(missed)} of {len(warm)} warm starts were not served from the pool "
                f"(a cold start instead); the pool said: {missed[0]}"
            )
    except Exception as exc:
        res["error"] = f"{type(exc).__name__}: {exc}"[:600]
    finally:
        res.update(leftovers(server, ids, cluster, placement))
        keep_log(server, f"pool-{placement}", res, run.options)
    return res


def refill_part(run: PoolRun, timeout: float = 300) -> dict:
    """pool_size 10 (local), ``--cluster-repeat`` rounds: a burst of 10 concurrent starts
    on a full pool, then the seconds until the pool is full again (the burst's kernels
    running meanwhile; deleted before the next round)."""
    name = "local-warm"
    workdir = run.tmp / "pool-refill"
    workdir.mkdir()
    spec = with_pool(shipped_local_spec(), BURST)
    server = Server(workdir, sys.executable, {name: spec}, {"jupyter_remote_kernels": True},
                    args=POOL_ARGS)  # fmt: skip
    ids: set[str] = set()
    res: dict = {"pool_size": BURST}
    rounds: list[dict] = []
    try:
        res["fill_s"] = wait_full(server, name, timeout)
        for _ in range(run.options.cluster_repeat):
            wait_full(server, name, timeout)
            rounds.append(burst(server, name, ids, timeout))
        res.update(
            burst_s=statistics.median(r["burst_s"] for r in rounds),
            burst_median_s=statistics.median(r["median_s"] for r in rounds),
            burst_max_s=max(r["max_s"] for r in rounds),
            served_warm=min(r["served_warm"] for r in rounds),
            refill_s=statistics.median(r["refill_s"] for r in rounds),
            refill_max_s=max(r["refill_s"] for r in rounds),
            rounds=rounds,
        )
        if res["served_warm"] < BURST:
            res["error"] = f"only {res['served_warm']} of {BURST} starts were served warm"
    except Exception as exc:
        res["error"] = f"{type(exc).__name__}: {exc}"[:600]
    finally:
        res.update(leftovers(server, ids))
        keep_log(server, "pool-refill", res, run.options)
    return res


def burst(server: Server, name: str, ids: set[str], timeout: float) -> dict:
    """One refill round on a full pool (its kernels' ids are added to ``ids``)."""
    ready = pooled_ids(server, name)
    ids |= ready
    t = time.monotonic()
    with cf.ThreadPoolExecutor(BURST) as pool:
        tries = [pool.submit(server.start, name, timeout) for _ in range(BURST)]
        cf.wait(tries)
    burst_end = time.monotonic()
    started = [f.result() for f in tries if not f.exception()]
    failed = [f.exception() for f in tries if f.exception()]
    ids |= {k for k, _ in started}
    if failed:
        msg = f"{len(failed)} of {BURST} starts failed: {failed[0]}"
        raise RuntimeError(msg)
    refill = wait_full(server, name, timeout)
    ids |= pool_kernel_ids(server)
    server.delete_all([k for k, _ in started])
    took = [s for _, s in started]
    return {
        "burst_s": round(burst_end - t, 3),
        "median_s": round(statistics.median(took), 3),
        "max_s": round(max(took), 3),
        "served_warm": len({k for k, _ in started} & ready),
        "refill_s": round(refill, 3),
    }


def yarn_part(run: PoolRun) -> dict:
    """``pool-yarn``: the shipped Spark template installed by our CLI for the real YARN
    test cluster (started, with a bed of its own, for this part only; stopped at its end)."""
    with YarnTestCluster(label="benchmark-pools") as yarn:
        data = run.tmp / "pool-yarn-specs"
        for name, size in (("yarn-warm", POOL_SIZE), ("yarn-cold", 0)):
            folder = yarn.install_spark_kernelspec(data, name)
            spec = json.loads((folder / "kernel.json").read_text())
            (folder / "kernel.json").write_text(json.dumps(with_pool(spec, size), indent=1))
        env = {"HADOOP_CONF_DIR": str(yarn.hadoop_conf_dir), "JAVA_HOME": str(yarn.java_home)}
        res = placement_part(run, "yarn", None, 600, yarn, env, data / "share" / "jupyter")
        res["cluster"] = f"Hadoop YARN, {len(yarn.hosts)} NodeManagers"
        for app in yarn.apps(states=YARN_LIVE):  # none, unless the count above says so
            yarn.kill(app["id"])
    return res


def run_part(name: str, run: PoolRun) -> dict:
    """One pool part; its measurements, or ``{"error": ..., "log": ...}``."""
    try:
        if name == "pool-local":
            return placement_part(run, "local", shipped_local_spec(), 120)
        if name == "pool-ssh":
            return placement_part(run, "ssh", ssh_spec(run.bed), 120)
        if name == "pool-slurm":
            cluster = run.options.slurm_cluster
            spec = slurm_spec(cluster, "shared")
            return placement_part(run, "slurm", spec, 300, cluster)
        if name == "pool-yarn":
            return yarn_part(run)
        return refill_part(run)
    except Exception as exc:  # a server or cluster that did not start
        log = run.tmp / name / "server.log"
        kept = run.options.failed_logs / f"{name}.log"
        if log.exists():
            run.options.failed_logs.mkdir(parents=True, exist_ok=True)
            kept.write_bytes(log.read_bytes())
        return {
            "error": f"{type(exc).__name__}: {exc}"[:600],
            "log": str(kept) if log.exists() else "-",
        }


def keep_log(server: Server, name: str, res: dict, options) -> None:
    """The part's server log into ``--keep-logs``; a failed part's (or one that left
    something) also into the failed-logs folder, its path in ``log``."""
    if options.keep_logs and server.log_path.exists():
        options.keep_logs.mkdir(parents=True, exist_ok=True)
        (options.keep_logs / f"{name}.log").write_bytes(server.log_path.read_bytes())
    if "error" not in res and not any(res.get(k) for k in LEFT_KEYS):
        return
    options.failed_logs.mkdir(parents=True, exist_ok=True)
    target = options.failed_logs / f"{name}.log"
    if server.log_path.exists():
        target.write_bytes(server.log_path.read_bytes())
    res["log"] = str(target)


LEFT_KEYS = ("stop_left_5s", "apps_left_5s", "jobs_left_5s")


def rounded(values: list[float]) -> list[float]:
    return [round(v, 3) for v in values]
