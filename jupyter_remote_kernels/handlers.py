"""REST API: where each kernel runs, launching kernels included.

``GET /api/remote-kernels`` lists every kernel with its placement; ``GET
/api/remote-kernels/{kernel_id}`` shows one. Authentication and authorization are those of
Jupyter's own kernel API (resource ``kernels``).
"""

from __future__ import annotations

import json

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

__all__ = ["RemoteKernelHandler", "RemoteKernelsHandler", "handlers"]

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


def handlers(base_url: str = "/") -> list[tuple[str, type]]:
    return [
        (url_path_join(base_url, r"/api/remote-kernels/?"), RemoteKernelsHandler),
        (url_path_join(base_url, rf"/api/remote-kernels/{_KERNEL_ID}/?"), RemoteKernelHandler),
    ]
