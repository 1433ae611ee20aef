"""REST API: where each kernel runs, launching kernels included.

``GET /api/remote-kernels`` lists every kernel with its placement; ``GET
/api/remote-kernels/{kernel_id}`` shows one. Authentication and authorization are those of
Jupyter's own kernel API (resource ``kernels``).
"""

from __future__ import annotations

import json
import os

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.services.kernels.handlers import MainKernelHandler
from jupyter_server.utils import url_escape, url_path_join
from tornado import web

__all__ = ["KernelStartHandler", "RemoteKernelHandler", "RemoteKernelsHandler", "handlers"]

AUTH_RESOURCE = "kernels"
_KERNEL_ID = r"(?P<kernel_id>\w+-\w+-\w+-\w+-\w+)"


class _RemoteKernelsAPIHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def remote_manager(self):
        manager = self.kernel_manager
        if not hasattr(manager, "list_placements"):
            msg = (
                "The server's kernel manager is not jupyter_remote_kernels': set "
                "ServerApp.kernel_manager_class=jupyter_remote_kernels.RemoteMappingKernelManager"
            )
            raise web.HTTPError(501, msg)
        return manager


class RemoteKernelsHandler(_RemoteKernelsAPIHandler):
    """``GET /api/remote-kernels``: ``[{kernel_id, kernel_name, display_name, placement}]``."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        self.finish(json.dumps(self.remote_manager.list_placements()))


class RemoteKernelHandler(_RemoteKernelsAPIHandler):
    """``GET /api/remote-kernels/{kernel_id}``: one kernel's placement; 404 if unknown."""

    @web.authenticated
    @authorized
    def get(self, kernel_id: str) -> None:
        self.finish(json.dumps(self.remote_manager.placement_model(kernel_id)))


class KernelStartHandler(MainKernelHandler):
    """``POST /api/kernels`` that also takes Enterprise Gateway's ``env`` in the body.

    Only ``KERNEL_*`` names are taken (``KERNEL_LAUNCH_TIMEOUT``, ``KERNEL_REMOTE_HOST``, ...);
    they are added to the server's own environment for that kernel. Everything else about
    the request is Jupyter Server's.
    """

    @web.authenticated
    @authorized
    async def post(self) -> None:
        km = self.kernel_manager
        model = self.get_json_body() or {}
        if not isinstance(model, dict):
            raise web.HTTPError(400, "The request body must be a JSON object")
        model.setdefault("name", km.default_kernel_name)
        client_env = model.get("env") or {}
        if not isinstance(client_env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in client_env.items()
        ):
            raise web.HTTPError(400, "'env' must be an object of string values")
        start_kwargs = {}
        kernel_env = {k: v for k, v in client_env.items() if k.startswith("KERNEL_")}
        if kernel_env:
            start_kwargs["env"] = {**os.environ, **kernel_env}
        kernel_id = await ensure_async(
            km.start_kernel(
                kernel_name=model["name"],
                path=model.get("path"),
                kernel_id=model.get("kernel_id"),
                **start_kwargs,
            )
        )
        model = await ensure_async(km.kernel_model(kernel_id))
        self.set_header(
            "Location", url_path_join(self.base_url, "api", "kernels", url_escape(kernel_id))
        )
        self.set_status(201)
        self.finish(json.dumps(model, default=str))


def handlers(base_url: str = "/") -> list[tuple[str, type]]:
    return [
        (url_path_join(base_url, r"/api/kernels"), KernelStartHandler),
        (url_path_join(base_url, r"/api/remote-kernels/?"), RemoteKernelsHandler),
        (url_path_join(base_url, rf"/api/remote-kernels/{_KERNEL_ID}/?"), RemoteKernelHandler),
    ]
