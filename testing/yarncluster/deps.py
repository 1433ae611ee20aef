"""What the real YARN test cluster needs and where it is: Java, Hadoop's jars (fetched
with Maven), pyspark and its jar archive, and the check of all of them (:func:`require`)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Union

from testing.sshbed import netns_available

HADOOP_VERSION = "3.5.0"
POM = Path(__file__).with_name("pom.xml")


class YarnClusterError(RuntimeError):
    """Setting up, driving or tearing down the real YARN test cluster failed."""


# -- where things are ----------------------------------------------------------------------
def cache_dir() -> Path:
    """Jars and the Spark archive live here (``$JRK_YARN_CACHE`` or ``~/.cache/jrk-yarn``)."""
    return Path(os.environ.get("JRK_YARN_CACHE") or Path.home() / ".cache" / "jrk-yarn")


def hadoop_lib_dir() -> Path:
    return cache_dir() / f"hadoop-{HADOOP_VERSION}" / "lib"


def java_home() -> Path:
    """JAVA_HOME of the ``java`` on PATH (or ``$JAVA_HOME``)."""
    if os.environ.get("JAVA_HOME") and (Path(os.environ["JAVA_HOME"]) / "bin/java").exists():
        return Path(os.environ["JAVA_HOME"])
    java = shutil.which("java")
    if not java:
        msg = ("Java is not installed: the real YARN cluster needs Java 17 "
               "(Debian: apt-get install openjdk-17-jre-headless)")
        raise YarnClusterError(msg)
    return Path(os.path.realpath(java)).parent.parent


def spark_home() -> Path:
    """The installed pyspark package folder, which is a complete SPARK_HOME."""
    try:
        import pyspark  # noqa: PLC0415 (heavy; only when a cluster starts)
    except ImportError as exc:
        msg = ("pyspark is not installed: the real-cluster tests run spark-submit from it "
               "(python3 -m pip install pyspark)")
        raise YarnClusterError(msg) from exc
    home = Path(pyspark.__file__).parent
    if not (home / "bin" / "spark-submit").exists() or not (home / "jars").is_dir():
        msg = f"pyspark at {home} has no bin/spark-submit or jars/: reinstall pyspark"
        raise YarnClusterError(msg)
    return home


def missing_jars(lib: Path) -> list[str]:
    want = [f"hadoop-yarn-server-resourcemanager-{HADOOP_VERSION}.jar",
            f"hadoop-yarn-server-nodemanager-{HADOOP_VERSION}.jar",
            f"hadoop-common-{HADOOP_VERSION}.jar"]
    return [j for j in want if not (lib / j).is_file()]


def ensure_hadoop(fetch: bool = True, timeout: float = 1200) -> Path:
    """Hadoop's jars folder; with `fetch`, runs Maven on pom.xml when they are missing."""
    lib = hadoop_lib_dir()
    if not missing_jars(lib):
        return lib
    cmd = mvn_command(lib)
    if not fetch:
        msg = (f"Hadoop {HADOOP_VERSION} jars are missing from {lib}; fetch them with:\n"
               f"  {' '.join(cmd)}")
        raise YarnClusterError(msg)
    if not shutil.which("mvn"):
        msg = (f"Hadoop {HADOOP_VERSION} jars are missing from {lib} and Maven is not "
               f"installed to fetch them (Debian: apt-get install maven), then run:\n"
               f"  {' '.join(cmd)}")
        raise YarnClusterError(msg)
    lib.parent.mkdir(parents=True, exist_ok=True)
    with open(lib.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not missing_jars(lib):
            return lib
        tmp = Path(tempfile.mkdtemp(prefix="lib.", dir=lib.parent))
        try:
            proc = subprocess.run(mvn_command(tmp), capture_output=True, text=True,
                                  timeout=timeout, check=False)
            if proc.returncode or missing_jars(tmp):
                msg = (f"fetching Hadoop {HADOOP_VERSION} with Maven failed "
                       f"(exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
                raise YarnClusterError(msg)
            shutil.rmtree(lib, ignore_errors=True)
            tmp.rename(lib)
        except subprocess.TimeoutExpired as exc:
            msg = f"fetching Hadoop with Maven did not finish within {timeout}s"
            raise YarnClusterError(msg) from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return lib


def mvn_command(output_dir: Union[Path, str, None] = None) -> list[str]:
    """The Maven command that copies Hadoop's jars (and what they need) to `output_dir`."""
    return ["mvn", "-B", "-q", "-f", str(POM), "dependency:copy-dependencies",
            "-DincludeScope=runtime", f"-DoutputDirectory={output_dir or hadoop_lib_dir()}"]


def ensure_spark_archive() -> Path:
    """A zip of pyspark's jars for ``spark.yarn.archive``, made once and cached: without it
    every spark-submit zips and uploads ~280 jars (460 MB)."""
    jars = spark_home() / "jars"
    entries = sorted((p.name, p.stat().st_size) for p in jars.glob("*.jar"))
    digest = hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:10]
    import pyspark  # noqa: PLC0415 (heavy; only when a cluster starts)

    target = cache_dir() / f"spark-{pyspark.__version__}-jars-{digest}.zip"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():
            return target
        tmp = target.with_suffix(".tmp")
        # stored, not deflated: jars are compressed already; the NM only unpacks it
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            for name, _ in entries:
                zf.write(jars / name, name)
        tmp.replace(target)
    return target


def require(fetch: bool = True) -> dict:
    """Check (and with `fetch`, get) everything the cluster needs; raise YarnClusterError
    naming each missing part and how to install it. Returns the paths found."""
    problems, found = [], {}
    for name, check in (("java", java_home), ("hadoop", lambda: ensure_hadoop(fetch)),
                        ("spark_home", spark_home)):
        try:
            found[name] = check()
        except YarnClusterError as exc:
            problems.append(str(exc))
    if not netns_available():
        problems.append("the YARN cluster's NodeManagers live in network namespaces: run as "
                        "root with `ip netns`, `unshare` and `nsenter` working (iproute2, "
                        "util-linux)")
    if not (shutil.which("sshd") or os.access("/usr/sbin/sshd", os.X_OK)):
        problems.append("sshd is not installed (Debian: apt-get install openssh-server)")
    if problems:
        msg = "the real YARN test cluster cannot start:\n- " + "\n- ".join(problems)
        raise YarnClusterError(msg)
    return found
