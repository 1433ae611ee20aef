"""A fake ``$SPARK_HOME/bin/spark-submit`` (YARN cluster mode) on top of :mod:`.submit`.

Tests install it as ``<tmp>/spark/bin/spark-submit`` (see :func:`install_fake_spark`). It
parses spark-submit's options, reads ``--properties-file`` like Spark does (``key value`` or
``key=value`` lines), and submits through the emulator's stand-in submitter with the
container environment taken from ``spark.yarn.appMasterEnv.*`` (passed on through this
process's environment, never argv).

Like real cluster mode it *localizes* only the primary file, ``--py-files`` and ``--files``
(only the last of each option counts, as in Spark) into the container's working directory
(as symlinks into cache folders, as a NodeManager does), puts ``--py-files`` on PYTHONPATH
(as Spark's PythonRunner does) and runs the primary Python file from there, so a launcher
that needs any other file of the server fails here as it would on a real cluster.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import sys
from pathlib import Path

from jupyter_remote_kernels.cli import fill_template

VALUE_OPTIONS = {
    "--master", "--deploy-mode", "--name", "--queue", "--conf", "--properties-file",
    "--py-files", "--files", "--archives", "--jars", "--proxy-user", "--driver-memory",
    "--executor-memory", "--num-executors", "--class",
}


def parse(argv: list[str]) -> tuple[dict, list[str], list[str]]:
    opts: dict = {"conf": [], "py-files": [], "files": []}
    i = 0
    while i < len(argv) and argv[i].startswith("--"):
        name = argv[i]
        if name not in VALUE_OPTIONS:
            raise SystemExit(f"spark-submit (fake): unknown option {name}")
        value = argv[i + 1]
        key = name[2:]
        if key == "conf":
            opts["conf"].append(value)
        elif key in ("py-files", "files"):  # like Spark: the last one replaces the others
            opts[key] = [v for v in value.split(",") if v]
        else:
            opts[key] = value
        i += 2
    if i >= len(argv):
        raise SystemExit("spark-submit (fake): the primary resource is missing")
    return opts, [argv[i]], argv[i + 1 :]


def read_properties(path: str) -> list[str]:
    """``key=value`` of each property (Java properties: ``key value`` or ``key=value``)."""
    out = []
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        match = re.match(r"([^\s=:]+)\s*[=:\s]\s*(.*)$", line)
        if match:
            out.append(f"{match.group(1)}={match.group(2).replace(chr(92) * 2, chr(92))}")
    return out


def main(argv: list[str]) -> int:
    opts, (primary,), args = parse(argv)
    if opts.get("master") != "yarn" or opts.get("deploy-mode") != "cluster":
        raise SystemExit("spark-submit (fake): only --master yarn --deploy-mode cluster")
    confs = (read_properties(opts["properties-file"]) if "properties-file" in opts else [])
    confs += opts["conf"]
    rm = os.environ["FAKE_SPARK_RM"]
    submit = [sys.executable, "-m", "testing.yarn_emulator.submit", "--rm", rm,
              "--name", opts.get("name", "spark"), "--queue", opts.get("queue", "default")]
    env = dict(os.environ)
    python = "python3"
    for conf in confs:
        key, _, value = conf.partition("=")
        if key.startswith("spark.yarn.appMasterEnv."):
            name = key[len("spark.yarn.appMasterEnv."):]
            if name == "PYSPARK_PYTHON":
                python = value
            env[name] = value
            submit += ["--env-from-env", name]
        elif key in ("spark.yarn.tags", "spark.yarn.maxAppAttempts"):
            submit += ["--conf", conf]
    shipped = [primary, *opts["py-files"], *opts["files"]]
    # As a NodeManager localizes them: each a symlink to its copy in a cache folder of its own.
    # As Spark's PythonRunner does, --py-files go on PYTHONPATH (a .py file: its folder).
    copies = 'cache="$(mktemp -d "$PWD/../filecache.XXXXXX")"'
    python_path = []
    for i, f in enumerate(shipped):
        source, name = shlex.quote(os.path.abspath(f)), shlex.quote(os.path.basename(f))
        copies += f' && mkdir "$cache/{i}" && cp {source} "$cache/{i}/"'
        copies += f' && ln -s "$cache/{i}/{name}" .'
        if 0 < i <= len(opts["py-files"]):
            python_path.append(f'$cache/{i}' + ("" if f.endswith(".py") else f"/{name}"))
    if python_path:
        copies += f' && export PYTHONPATH="{":".join(python_path)}${{PYTHONPATH:+:$PYTHONPATH}}"'
    run = shlex.join([python, "./" + os.path.basename(primary), *args])
    submit += ["--", "bash", "-c", f"{copies} && exec {run}"]
    os.execvpe(submit[0], submit, env)
    return 1


def install_fake_spark(folder: Path, rm_urls: str, repo: Path) -> Path:
    """A SPARK_HOME whose bin/spark-submit is this module; returns SPARK_HOME."""
    home = folder / "spark"
    (home / "bin").mkdir(parents=True, exist_ok=True)
    script = home / "bin" / "spark-submit"
    script.write_text(
        "#!/bin/sh\n"
        f"cd {shlex.quote(str(repo))}\n"
        f"FAKE_SPARK_RM={shlex.quote(rm_urls)} exec {shlex.quote(sys.executable)} "
        '-m testing.yarn_emulator.spark_submit "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return home


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def install_spark_kernelspec(
    kernels_dir: Path, name: str, rm_url: str, spark_home: Path, poll_interval: float = 0.3
) -> Path:
    """The shipped ``yarn_spark`` template filled for the emulator's RM and this fake
    SPARK_HOME (as ``jupyter remote-kernels install yarn`` would); returns its folder."""

    fields = {
        "DISPLAY_NAME": name,
        "ENDPOINT": rm_url,
        "ALT_ENDPOINTS": [],
        "QUEUE": "default",
        "REMOTE_PYTHON": sys.executable,
        "SPARK_HOME": str(spark_home),
        "SPARK_OPTS": "",
    }
    folder = kernels_dir / name
    spec = fill_template("yarn_spark", fields, folder)
    spec["metadata"]["process_proxy"]["config"]["yarn_poll_interval"] = poll_interval
    (folder / "kernel.json").write_text(json.dumps(spec))
    return folder
