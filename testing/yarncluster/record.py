"""Record real ResourceManager REST answers as JSON fixtures (for the emulator's shape test).

    python -m testing.yarncluster record testing/yarn_emulator/recorded

Starts a cluster, drives real Spark applications through ACCEPTED, RUNNING, FINISHED and
KILLED (and one kept ACCEPTED in the full ``small`` queue), and writes one file per answer:
``{"request": {...}, "status": N, "content_type": "...", "body": <JSON or text>}``.
Nothing is scrubbed: ids, times and addresses are the real ones of that run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .cluster import YarnTestCluster
from .deps import YarnClusterError

HOLD_APP = textwrap.dedent("""\
    import os, sys, time
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    spark.range(1000).count()
    deadline = time.monotonic() + 600
    while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
        time.sleep(0.2)
    spark.stop()
""")


class Recorder:
    def __init__(self, cluster: YarnTestCluster, outdir: Path):
        self.cluster, self.outdir = cluster, outdir
        self.written: list[str] = []

    def call(self, method: str, path: str, query: dict | None = None,
             body: dict | None = None) -> tuple[int, object]:
        url = self.cluster.rm_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Accept": "application/json", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, ctype, raw = resp.status, resp.headers.get("Content-Type"), resp.read()
        except urllib.error.HTTPError as exc:
            status, ctype, raw = exc.code, exc.headers.get("Content-Type"), exc.read()
        try:
            parsed: object = json.loads(raw) if raw.strip() else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        self.last = {"request": {"method": method, "path": path, "query": query or {},
                                 "body": body},
                     "status": status, "content_type": ctype, "body": parsed}
        return status, parsed

    def save(self, name: str) -> None:
        (self.outdir / f"{name}.json").write_text(json.dumps(self.last, indent=2) + "\n")
        self.written.append(name)
        print(f"  {name}.json: {self.last['status']}", flush=True)

    def record(self, name: str, method: str, path: str, **kw) -> tuple[int, object]:
        answer = self.call(method, path, **kw)
        self.save(name)
        return answer


def _submit(cluster: YarnTestCluster, app: Path, *args: str, queue: str, tag: str) -> None:
    proc = subprocess.run(cluster.spark_submit_argv(app, *args, queue=queue, tags=[tag],
                                                    name=f"jrk-record-{tag}"),
                          env=cluster.spark_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    if proc.returncode:
        msg = f"spark-submit failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        raise YarnClusterError(msg)


def _app_id(cluster: YarnTestCluster, tag: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        apps = cluster.apps(tags=[tag])
        if apps:
            return apps[0]["id"]
        time.sleep(0.1)
    msg = f"no application tagged {tag} within {timeout}s"
    raise YarnClusterError(msg)


def record_unregistered(rec: Recorder, cluster: YarnTestCluster) -> str:
    """An AM container whose command exits 0 without registering: each attempt fails, then
    the application (``app_failed_unregistered``, ``app_attempts_failed``)."""
    app_id = cluster.submit_command("exit 0", name="jrk-record-unregistered", max_attempts=2)
    cluster.wait_app(app_id, states=["FAILED", "FINISHED"], timeout=180)
    rec.record("app_failed_unregistered", "GET", f"/ws/v1/cluster/apps/{app_id}")
    rec.record("app_attempts_failed", "GET", f"/ws/v1/cluster/apps/{app_id}/appattempts")
    return app_id


def record(outdir: str | Path) -> int:
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    apps = "/ws/v1/cluster/apps"
    with tempfile.TemporaryDirectory(prefix="jrk-record-") as tmpdir, \
            YarnTestCluster() as cluster:
        tmp = Path(tmpdir)
        app = tmp / "hold.py"
        app.write_text(HOLD_APP)
        rec = Recorder(cluster, outdir)
        print(f"cluster up at {cluster.rm_url}; recording into {outdir}", flush=True)
        rec.record("cluster_info", "GET", "/ws/v1/cluster/info")

        # one application from submission to RUNNING; caught ACCEPTED on the way
        _submit(cluster, app, str(tmp / "release-a"), queue="default", tag="jrk-rec-a")
        a = _app_id(cluster, "jrk-rec-a")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            _, body = rec.call("GET", f"{apps}/{a}")
            if body["app"]["state"] == "ACCEPTED":
                rec.save("app_accepted")
                break
            if body["app"]["state"] not in ("NEW", "NEW_SAVING", "SUBMITTED"):
                print(f"  (missed ACCEPTED: {body['app']['state']})", flush=True)
                break
            time.sleep(0.05)
        cluster.wait_app(a, states=["RUNNING"], timeout=240)
        rec.record("app_running", "GET", f"{apps}/{a}")
        rec.record("app_state_running", "GET", f"{apps}/{a}/state")
        rec.record("app_attempts_running", "GET", f"{apps}/{a}/appattempts")
        rec.record("apps_by_tag", "GET", apps, query={"applicationTags": "jrk-rec-a"})
        rec.record("apps_by_tags_and_states", "GET", apps,
                   query={"applicationTags": "jrk-rec-a,no-such-tag",
                          "states": "accepted,running"})
        rec.record("apps_none", "GET", apps, query={"applicationTags": "no-such-tag"})

        # the small queue: one application runs, the next one stays ACCEPTED
        _submit(cluster, app, str(tmp / "release-s1"), queue="small", tag="jrk-rec-s1")
        s1 = _app_id(cluster, "jrk-rec-s1")
        cluster.wait_app(s1, states=["RUNNING"], timeout=240)
        _submit(cluster, app, str(tmp / "release-s2"), queue="small", tag="jrk-rec-s2")
        s2 = _app_id(cluster, "jrk-rec-s2")
        cluster.wait_app(s2, states=["ACCEPTED"], timeout=60)
        time.sleep(5)
        rec.record("app_accepted_small_queue_full", "GET", f"{apps}/{s2}")
        rec.record("apps_in_queue_small", "GET", apps, query={"queue": "small"})
        rec.record("kill_accepted", "PUT", f"{apps}/{s2}/state", body={"state": "KILLED"})
        cluster.wait_app(s2, states=["KILLED"], timeout=120)

        # a kill while RUNNING: 202 at once, KILLED later; a second kill of a final app
        rec.record("kill_running", "PUT", f"{apps}/{a}/state", body={"state": "KILLED"})
        rec.record("app_state_after_kill", "GET", f"{apps}/{a}/state")
        cluster.wait_app(a, states=["KILLED"], timeout=120)
        rec.record("app_killed", "GET", f"{apps}/{a}")
        rec.record("kill_final", "PUT", f"{apps}/{a}/state", body={"state": "KILLED"})
        # a PUT of the state the app is in answers 200 with it; any other state than
        # KILLED is refused
        rec.record("put_state_same", "PUT", f"{apps}/{s1}/state", body={"state": "RUNNING"})
        rec.record("put_state_invalid", "PUT", f"{apps}/{s1}/state",
                   body={"state": "FINISHED"})

        # an application that ends by itself
        (tmp / "release-s1").write_text("")
        cluster.wait_app(s1, states=["FINISHED"], timeout=240)
        rec.record("app_finished", "GET", f"{apps}/{s1}")

        # errors
        ts = cluster.cluster_timestamp
        rec.record("app_not_found", "GET", f"{apps}/application_{ts}_9999")
        rec.record("app_bad_id", "GET", f"{apps}/not-an-application-id")
        rec.record("kill_not_found", "PUT", f"{apps}/application_{ts}_9999/state",
                   body={"state": "KILLED"})
        record_unregistered(rec, cluster)
        rec.record("cluster_metrics", "GET", "/ws/v1/cluster/metrics")
        rec.record("cluster_nodes", "GET", "/ws/v1/cluster/nodes")
        deadline = time.monotonic() + 60  # FINISHED/KILLED come before the exit
        while cluster.container_processes() and time.monotonic() < deadline:
            time.sleep(0.5)
        leftover = cluster.container_processes()
        if leftover:
            print(f"warning: container processes left: {leftover}", file=sys.stderr)
    print(f"recorded {len(rec.written)} answers into {outdir}")
    return 0
