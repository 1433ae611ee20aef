"""A stand-in for Enterprise Gateway's launch_ipykernel.py, written from its documented protocol.

EG's launcher is not installed here; this reproduces what the server sees of it: the
``--RemoteProcessProxy.*`` options, its own signing key, the RSA+AES payload sent
unauthenticated to the response address, and a communication port taking unauthenticated
``{"signum": N}`` / ``{"shutdown": 1}`` messages.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid

from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def encrypt(info: dict, public_key_b64: str) -> bytes:
    public_key = serialization.load_der_public_key(base64.b64decode(public_key_b64))
    aes_key = os.urandom(16)
    padder = sym_padding.PKCS7(128).padder()
    data = padder.update(json.dumps(info).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(aes_key), modes.ECB()).encryptor()
    conn_info = encryptor.update(data) + encryptor.finalize()
    payload = {
        "version": 1,
        "key": base64.b64encode(public_key.encrypt(aes_key, padding.PKCS1v15())).decode(),
        "conn_info": base64.b64encode(conn_info).decode(),
    }
    return base64.b64encode(json.dumps(payload).encode())


def main() -> int:
    parser = argparse.ArgumentParser()
    for name in (
        "kernel-id",
        "response-address",
        "public-key",
        "port-range",
        "spark-context-initialization-mode",
    ):
        parser.add_argument(f"--RemoteProcessProxy.{name}", dest=name.replace("-", "_"))
    options = parser.parse_args()
    ports = {
        name: free_port()
        for name in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
    }
    info = dict(
        ports,
        ip="0.0.0.0",
        key=str(uuid.uuid4()),
        transport="tcp",
        signature_scheme="hmac-sha256",
        kernel_name="",
    )
    fd, connection_file = tempfile.mkstemp(prefix=f"kernel-{options.kernel_id}_", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(info, f)
    # Like EG's launcher (which *is* the kernel), stopping this process stops the kernel:
    # the handler is in place before the kernel starts.
    started: list[subprocess.Popen] = []

    def stop(*_):
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        sys.exit(143)

    signal.signal(signal.SIGTERM, stop)
    started.append(
        subprocess.Popen(
            [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file],
            start_new_session=True,
        )
    )
    kernel = started[0]
    comm = socket.socket()
    comm.bind(("0.0.0.0", 0))
    comm.listen(4)

    def listen() -> None:
        while True:
            conn, _ = comm.accept()
            with conn:
                data = b""
                while chunk := conn.recv(4096):
                    data += chunk
            request = json.loads(data or b"{}")
            if request.get("shutdown"):
                return
            signum = int(request.get("signum", 0))
            if signum:
                try:
                    os.killpg(kernel.pid, signum)
                except ProcessLookupError:
                    pass

    threading.Thread(target=listen, daemon=True).start()
    info.update(
        pid=kernel.pid,
        pgid=kernel.pid,
        kernel_id=options.kernel_id,
        comm_port=comm.getsockname()[1],
    )
    host, port = options.response_address.rsplit(":", 1)
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(encrypt(info, options.public_key))
    try:
        return kernel.wait()
    finally:
        os.unlink(connection_file)


if __name__ == "__main__":
    sys.exit(main())
