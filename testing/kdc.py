"""A real MIT Kerberos KDC for the tests: a private realm on loopback.

:class:`TestKDC` makes a realm (``JRK.TEST``) in a private folder: a ``krb5.conf`` and a
``kdc.conf`` of its own (``KRB5_CONFIG`` / ``KRB5_KDC_PROFILE`` point at them, nothing under
``/etc`` is read or written), a database made with ``kdb5_util``, principals and keytabs
made with ``kadmin.local``, and ``krb5kdc`` serving on a free 127.0.0.1 port (TCP and UDP).
:meth:`TestKDC.kinit` gets a ticket into a private ticket cache (``KRB5CCNAME``).
:meth:`TestKDC.stop` ends the KDC; the folder goes with pytest's ``tmp_path``.

Needs Debian's ``krb5-kdc``, ``krb5-admin-server`` (``kadmin.local``) and ``krb5-user``
(``kinit``), which ``.ci/run`` installs.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Optional

REALM = "JRK.TEST"
TOOLS = {
    "krb5kdc": "krb5-kdc",
    "kdb5_util": "krb5-kdc",
    "kadmin.local": "krb5-admin-server",
    "kinit": "krb5-user",
    "klist": "krb5-user",
}
_SBIN = ("/usr/sbin", "/usr/bin", "/sbin")


def find_tool(name: str) -> Optional[str]:
    found = shutil.which(name)
    if found:
        return found
    for folder in _SBIN:
        path = os.path.join(folder, name)
        if os.access(path, os.X_OK):
            return path
    return None


def missing_tools() -> list[str]:
    """Debian packages whose Kerberos tools are absent (empty when everything is there)."""
    return sorted({pkg for tool, pkg in TOOLS.items() if find_tool(tool) is None})


def _free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (checked, then released)."""
    for _ in range(50):
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no free port for the KDC")


class TestKDC:
    """One realm and its KDC; see the module docstring."""

    __test__ = False  # not a pytest test class

    def __init__(self, folder: Path, realm: str = REALM) -> None:
        self.folder = Path(folder)
        self.realm = realm
        self.port = 0
        self.process: Optional[subprocess.Popen] = None
        self.krb5_conf = self.folder / "krb5.conf"
        self.kdc_conf = self.folder / "kdc.conf"
        self.rcache = self.folder / "rcache"

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that make Kerberos clients and servers use this realm."""
        return {
            "KRB5_CONFIG": str(self.krb5_conf),
            "KRB5_KDC_PROFILE": str(self.kdc_conf),
            "KRB5RCACHEDIR": str(self.rcache),
            "KRB5_TRACE": str(self.folder / "trace.log"),
        }

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        tool = find_tool(argv[0]) or argv[0]
        return subprocess.run(
            [tool, *argv[1:]],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=60,
            check=check,
        )

    def start(self) -> TestKDC:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.rcache.mkdir(exist_ok=True)
        self.port = _free_port()
        db = self.folder / "db"
        db.mkdir(exist_ok=True)
        self.kdc_conf.write_text(
            f"[kdcdefaults]\n kdc_ports = {self.port}\n kdc_tcp_ports = {self.port}\n"
            f"[realms]\n {self.realm} = {{\n"
            f"  database_name = {db}/principal\n"
            f"  key_stash_file = {db}/stash\n"
            f"  acl_file = {db}/kadm5.acl\n"
            f"  max_life = 1h\n  max_renewable_life = 1h\n"
            f"  supported_enctypes = aes256-cts-hmac-sha1-96:normal\n }}\n"
            f"[logging]\n kdc = FILE:{self.folder}/kdc.log\n"
        )
        self.krb5_conf.write_text(
            f"[libdefaults]\n default_realm = {self.realm}\n dns_lookup_kdc = false\n"
            " dns_lookup_realm = false\n rdns = false\n dns_canonicalize_hostname = false\n"
            " udp_preference_limit = 1\n ticket_lifetime = 1h\n"
            f"[realms]\n {self.realm} = {{\n  kdc = 127.0.0.1:{self.port}\n }}\n"
            f"[domain_realm]\n 127.0.0.1 = {self.realm}\n localhost = {self.realm}\n"
        )
        (db / "kadm5.acl").write_text("")
        self._run("kdb5_util", "create", "-s", "-r", self.realm, "-P", os.urandom(16).hex())
        log = (self.folder / "krb5kdc.out").open("w")
        self.process = subprocess.Popen(
            [find_tool("krb5kdc") or "krb5kdc", "-n", "-r", self.realm],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                out = (self.folder / "krb5kdc.out").read_text()
                msg = f"krb5kdc exited with {self.process.returncode}: {out}"
                raise RuntimeError(msg)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"krb5kdc did not listen on 127.0.0.1:{self.port} within 20 s")

    def add_principal(self, name: str, keytab: Optional[Path] = None, **options: str) -> str:
        """Make ``name@REALM`` (random key), optionally exported to ``keytab``; its full name.

        ``options`` are kadmin ``addprinc`` options, e.g. ``maxlife="5 seconds"``.
        """
        extra = [f'-{key} "{value}"' for key, value in options.items()]
        self._run("kadmin.local", "-q", f"addprinc -randkey {' '.join(extra)} {name}")
        if keytab is not None:
            self._run("kadmin.local", "-q", f"ktadd -k {keytab} {name}")
        return f"{name}@{self.realm}"

    def kinit(self, principal: str, keytab: Path, ccache: Path, lifetime: str = "") -> None:
        """Get a ticket for ``principal`` (from its keytab) into the ticket cache ``ccache``."""
        argv = ["kinit", "-c", f"FILE:{ccache}", "-kt", str(keytab)]
        if lifetime:
            argv += ["-l", lifetime]
        self._run(*argv, principal)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
