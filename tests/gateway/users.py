"""Helpers of the gateway tests: a shared gateway, users' servers pointed at it, a kernel
client speaking through a server's websocket (synchronous, websocket-client)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any, Optional

import websocket

from ..server_process import ServerProcess

#: The gateway's one token, held by every user's server (as JupyterHub's deployments do).
GATEWAY_TOKEN = "shared-gateway-token"
#: The Jupyter user whoever holds the gateway's token is (NamedTokenIdentityProvider).
GATEWAY_IDENTITY = "hub-gateway"
#: Seconds one kernel request may take through both servers on a loaded 2-core machine.
REQUEST_TIMEOUT = 120
#: Seconds a server may take to start on a loaded 2-core machine.
START_TIMEOUT = 120


def gateway_server(base: Path, *extra: str) -> ServerProcess:
    """The shared server running this project, trusting its token's holder to name users."""
    return ServerProcess(
        base,
        token=GATEWAY_TOKEN,
        extra_args=[
            "--ServerApp.identity_provider_class="
            "jupyter_remote_kernels.identity.NamedTokenIdentityProvider",
            f"--NamedTokenIdentityProvider.token_username={GATEWAY_IDENTITY}",
            f"--RemoteMappingKernelManager.trusted_gateway_users={GATEWAY_IDENTITY}",
            *extra,
        ],
    )


class UserServer(ServerProcess):
    """A user's Jupyter Server started by a hub: ``--gateway-url`` at the shared gateway,
    the gateway's token, ``KERNEL_USERNAME`` in its environment (JupyterHub's
    ``Spawner.environment``). ``extension`` False: a plain Jupyter Server."""

    def __init__(
        self,
        base: Path,
        user: str,
        gateway_url: str,
        *,
        extension: bool = True,
        gateway_token: str = GATEWAY_TOKEN,
        extra_args=(),
    ) -> None:
        base.mkdir(parents=True, exist_ok=True)
        args = [
            f"--gateway-url={gateway_url}",
            f"--GatewayClient.auth_token={gateway_token}",
            *extra_args,
        ]
        super().__init__(base, token=f"{user}-token", extra_args=args)
        self.extension = extension
        self.user = user

    def env(self) -> dict[str, str]:
        return dict(super().env(), KERNEL_USERNAME=self.user)

    def start(self, timeout: float = START_TIMEOUT) -> UserServer:
        super().start(timeout)
        return self

    def get(self, path: str, timeout: float = 30) -> Any:
        response = self.request("GET", path, timeout=timeout)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def start_kernel(self, name: str) -> dict[str, Any]:
        response = self.request("POST", "/api/kernels", {"name": name}, timeout=REQUEST_TIMEOUT)
        assert response.status_code == 201, (response.status_code, response.text)
        return response.json()


class WSKernel:
    """One kernel's websocket on a server, as JupyterLab opens it."""

    def __init__(self, server: ServerProcess, kernel_id: str, timeout: float = 60) -> None:
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels",
            header=[f"Authorization: token {server.token}"],
            timeout=timeout,
        )
        self.session = uuid.uuid4().hex

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> WSKernel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send_execute(self, code: str) -> str:
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "username": "test",
            "session": self.session,
            "date": "",
            "version": "5.3",
        }
        content = {"code": code, "silent": False, "store_history": False,
                   "user_expressions": {}, "allow_stdin": False, "stop_on_error": False}
        self.ws.send(json.dumps({"header": header, "parent_header": {}, "metadata": {},
                                 "content": content, "buffers": [], "channel": "shell"}))
        return msg_id

    def wait(self, msg_id: str, until: str = "idle", timeout: float = 60) -> dict[str, Any]:
        """Messages answering ``msg_id`` until ``until`` (``idle``: the reply and the idle
        status; ``started``: the kernel's execute_input). Returns reply content + stdout."""
        stdout: list[str] = []
        reply: Optional[dict] = None
        idle = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            message = json.loads(self.ws.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message["msg_type"]
            if kind == "execute_input" and until == "started":
                return {}
            if kind == "stream" and message["content"].get("name") == "stdout":
                stdout.append(message["content"]["text"])
            elif kind == "execute_reply":
                reply = message["content"]
            elif kind == "status" and message["content"]["execution_state"] == "idle":
                idle = True
            if reply is not None and idle:
                return dict(reply, stdout="".join(stdout))
        raise TimeoutError(f"no complete answer to {msg_id} within {timeout} s")

    def execute(self, code: str, timeout: float = 60) -> dict[str, Any]:
        return self.wait(self.send_execute(code), timeout=timeout)


def wait_for(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True
