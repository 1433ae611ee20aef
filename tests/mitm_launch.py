"""An attacker in the middle of a real launch, used as a kernelspec's argv in tests.

    python mitm_launch.py REPORT RESPONSE_ADDRESS -- LAUNCHER ARGV... (with @RELAY@)

Before the real launcher calls back it sends spoofed callbacks to the server (unknown kernel
id, wrong MAC, garbage, 1 MB of junk, an idle slow-loris connection). It then relays the real
launcher's callback (standing in for it with ``@RELAY@`` in its argv), records that exchange,
and replays the recorded message on a fresh connection afterwards. What the server answered
to each is written as JSON to REPORT.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading

HELLO = b'{"protocol":"jrk-callback/1"}\n'


def talk(address, payload: bytes, read_hello: bool = True, timeout: float = 15.0) -> str:
    """Send ``payload`` to the server (after the hello and its challenge, unless
    ``read_hello`` is False); return what the server answered."""
    host, port = address
    with socket.create_connection((host, port), timeout=timeout) as sock:
        hello = b""
        if read_hello:
            sock.sendall(HELLO)
            while not hello.endswith(b"\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                hello += chunk
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            return f"closed during send ({exc.__class__.__name__})"
        answer = b""
        try:
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except OSError as exc:
            return f"closed ({exc.__class__.__name__})"
    return answer.decode(errors="replace").strip() or "closed"


def main() -> int:
    report_path, response_address = sys.argv[1], sys.argv[2]
    launcher_argv = sys.argv[sys.argv.index("--") + 1 :]
    host, port = response_address.rsplit(":", 1)
    server = (host, int(port))
    kernel_id = launcher_argv[launcher_argv.index("--kernel-id") + 1]
    report: dict[str, object] = {}

    slow = socket.create_connection(server)  # slow-loris: says nothing, keeps it open
    report["unknown_kernel"] = talk(
        server, json.dumps({"kernel_id": "0" * 32, "info": {}, "mac": "00"}).encode() + b"\n"
    )
    report["wrong_mac"] = talk(
        server,
        json.dumps(
            {"kernel_id": kernel_id, "info": {"kernel_id": kernel_id}, "mac": "ab" * 32}
        ).encode()
        + b"\n",
    )
    report["garbage"] = talk(server, b"\x00\xffnot json at all\n")
    report["garbage_hello"] = talk(server, b"\x00\xffnot json at all\n", read_hello=False)
    report["junk_1mb"] = talk(server, b"A" * (1024 * 1024))
    report["junk_1mb_hello"] = talk(server, b"A" * (1024 * 1024), read_hello=False)

    relay = socket.socket()
    relay.bind(("127.0.0.1", 0))
    relay.listen(1)
    relay_address = f"127.0.0.1:{relay.getsockname()[1]}"
    recorded: dict[str, bytes] = {}

    def serve_relay() -> None:
        conn, _ = relay.accept()
        with conn, socket.create_connection(server) as upstream:
            upstream_file = upstream.makefile("rb")
            conn_file = conn.makefile("rb")
            upstream.sendall(conn_file.readline())  # the launcher's hello
            conn.sendall(upstream_file.readline())  # the server's challenge
            message = conn_file.readline()  # the launcher's callback
            recorded["message"] = message
            upstream.sendall(message)
            answer = upstream_file.readline()
            recorded["answer"] = answer
            conn.sendall(answer)

    thread = threading.Thread(target=serve_relay, daemon=True)
    thread.start()
    argv = [relay_address if arg == "@RELAY@" else arg for arg in launcher_argv]
    launcher = subprocess.Popen(argv)  # inherits stdin: the launch bundle
    thread.join(60)
    report["genuine"] = recorded.get("answer", b"").decode().strip()
    report["replay"] = talk(server, recorded.get("message", b"{}\n"))
    slow.close()
    with open(report_path, "w") as f:
        json.dump(report, f)
    return launcher.wait()


if __name__ == "__main__":
    sys.exit(main())
