"""A stand-in for ``spark-submit --master yarn --deploy-mode cluster``.

    python -m testing.yarn_emulator.submit --rm URL[,URL2] [--queue Q] [--name NAME]
        [--tag T]... [--conf spark.yarn.tags=a,b] [--env K=V]... [--env-from-env NAME]...
        [--user NAME] [--max-app-attempts N] -- CMD ARGS...

Gets an application id (POST /apps/new-application), submits the AM command
(POST /apps) through the RM REST API, following 307 redirects from a standby
RM and trying the next RM when one cannot be reached, then prints the
application id and exits 0, like spark-submit with
``spark.yarn.submit.waitAppCompletion=false``.

``--env-from-env NAME`` copies NAME from this process's environment into the
container environment, so a secret reaches the AM without being in any argv.
``--conf spark.yarn.appMasterEnv.K=V`` sets container environment too, as
with spark-submit. Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

MAX_REDIRECTS = 5


class SubmitError(Exception):
    pass


def _negotiate(url: str) -> str:
    """An ``Authorization: Negotiate`` value for the RM at ``url`` from the ticket cache.

    A Kerberos-secured RM answers 401 with ``WWW-Authenticate: Negotiate``; spark-submit
    then authenticates with the user's ticket (``kinit``), as this does (python-gssapi).
    """

    import gssapi  # noqa: PLC0415 (only for an RM with SPNEGO)

    host = urllib.parse.urlsplit(url).hostname
    name = gssapi.Name(f"HTTP@{host}", gssapi.NameType.hostbased_service)
    spnego = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
    try:
        token = gssapi.SecurityContext(name=name, usage="initiate", mech=spnego).step()
    except gssapi.exceptions.GSSError as exc:
        raise SubmitError(f"Kerberos: no valid ticket for HTTP@{host} (kinit?): {exc}") from None
    return "Negotiate " + base64.b64encode(token).decode()


def _request(url: str, method: str, body: dict | None, timeout: float):
    """One REST call, following 307/308 (urllib will not for POST/PUT); SPNEGO on demand."""
    data = json.dumps(body).encode() if body is not None else None
    auth = None
    for _ in range(MAX_REDIRECTS + 2):
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/json")
        if auth:
            req.add_header("Authorization", auth)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                return resp.status, dict(resp.headers), json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            if exc.code in (307, 308) and exc.headers.get("Location"):
                url = urllib.parse.urljoin(url, exc.headers["Location"])
                exc.close()
                continue
            negotiate = (exc.headers.get("WWW-Authenticate") or "").startswith("Negotiate")
            if exc.code == 401 and negotiate and auth is None:
                exc.close()
                auth = _negotiate(url)
                continue
            detail = exc.read().decode(errors="replace")
            raise SubmitError(f"{method} {url} answered {exc.code}: {detail}") from None
    raise SubmitError(f"{method} {url}: more than {MAX_REDIRECTS} redirects")


def _with_user(url: str, user: str) -> str:
    return f"{url}?{urllib.parse.urlencode({'user.name': user})}" if user else url


AM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "am.py")


def escape_for_shell(word: str) -> str:
    """One word for a YARN container command, as Spark quotes its AM arguments."""
    inner = word.replace("$", "\\$").replace('"', '\\"').replace("'", "'\\''")
    return "'" + inner + "'"


def build_context(app_id: str, args, command: str, env: dict) -> dict:
    ctx = {
        "application-id": app_id,
        "application-name": args.name,
        "queue": args.queue,
        "application-type": args.application_type,
        "am-container-spec": {
            "commands": {"command": command},
            "environment": {"entry": [{"key": k, "value": v} for k, v in env.items()]},
        },
        "resource": {"memory": args.memory, "vCores": args.vcores},
        "unmanaged-AM": False,
        "keep-containers-across-application-attempts": False,
        "application-tags": {"tag": args.tags},
    }
    if args.max_app_attempts:
        ctx["max-app-attempts"] = args.max_app_attempts
    return ctx


def submit(args) -> str:
    env: dict = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SubmitError(f"--env wants KEY=VALUE, got {item!r}")
        env[key] = value
    for name in args.env_from_env:
        if name not in os.environ:
            raise SubmitError(f"--env-from-env {name}: not set in this environment")
        env[name] = os.environ[name]
    for item in args.conf:
        key, sep, value = item.partition("=")
        if not sep:
            raise SubmitError(f"--conf wants KEY=VALUE, got {item!r}")
        if key == "spark.yarn.tags":
            args.tags.extend(t.strip() for t in value.split(",") if t.strip())
        elif key == "spark.app.name" and not args.name:
            args.name = value
        elif key == "spark.yarn.queue" and not args.queue:
            args.queue = value
        elif key == "spark.yarn.maxAppAttempts" and not args.max_app_attempts:
            args.max_app_attempts = int(value)
        elif key.startswith("spark.yarn.appMasterEnv."):
            env[key[len("spark.yarn.appMasterEnv."):]] = value
    args.queue = args.queue or "default"
    args.name = args.name or (os.path.basename(args.command[0]) if args.command else "app")
    # The stand-in AM registers with the RM and runs the command (see am.py). Every word
    # is escaped the way Spark's YarnSparkHadoopUtil.escapeForShell does, because the
    # NodeManager puts the command into `exec /bin/bash -c "..."` unescaped.
    command = " ".join(escape_for_shell(w) for w in [sys.executable, AM, "--", *args.command])
    if not args.no_log_redirect:
        command += " 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"

    errors = []
    for rm in [u.strip().rstrip("/") for u in args.rm.split(",") if u.strip()]:
        base = rm + "/ws/v1/cluster"
        try:
            _, _, new = _request(_with_user(base + "/apps/new-application", args.user),
                                 "POST", None, args.timeout)
            app_id = new["application-id"]
            ctx = build_context(app_id, args, command, env)
            status, _, _ = _request(_with_user(base + "/apps", args.user), "POST", ctx,
                                    args.timeout)
            if status != 202:
                raise SubmitError(f"POST {base}/apps answered {status}, expected 202")
            return app_id
        except (urllib.error.URLError, OSError) as exc:
            errors.append(f"{rm}: {exc}")
    raise SubmitError("no ResourceManager reachable: " + "; ".join(errors))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m testing.yarn_emulator.submit",
                                description="spark-submit stand-in (YARN cluster mode)")
    p.add_argument("--rm", required=True, help="RM web address(es), comma-separated")
    p.add_argument("--queue")
    p.add_argument("--name")
    p.add_argument("--tag", dest="tags", action="append", default=[])
    p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--env-from-env", action="append", default=[], metavar="NAME")
    p.add_argument("--user", default=None, help="user.name (default: the current user)")
    p.add_argument("--max-app-attempts", type=int, default=None)
    p.add_argument("--application-type", default="SPARK")
    p.add_argument("--memory", type=int, default=1024)
    p.add_argument("--vcores", type=int, default=1)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--no-log-redirect", action="store_true",
                   help="do not append 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    args = p.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        p.error("the AM command is missing (after --)")
    if args.user is None:
        args.user = getpass.getuser()
    try:
        app_id = submit(args)
    except SubmitError as exc:
        print(f"submit: error: {exc}", file=sys.stderr)
        return 1
    print(f"Submitted application {app_id}", file=sys.stderr)
    print(app_id, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
