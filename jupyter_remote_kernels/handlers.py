"""REST API: where each kernel runs, launching kernels included.

``GET /api/remote-kernels`` lists every kernel with its placement (warm pool kernels too, in
phase ``pooled``); ``GET /api/remote-kernels/{kernel_id}`` shows one; ``GET
/api/remote-kernels/pools`` the warm pools. Authentication and authorization are those of
Jupyter's own kernel API (resource ``kernels``).
"""

from __future__ import annotations

import json
import os

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.services.kernels.handlers import MainKernelHandler
from jupyter_server.services.sessions.handlers import SessionRootHandler
from jupyter_server.utils import url_escape, url_path_join
from tornado import web

from .identity import IdentityMixin

__all__ = [
    "KernelStartHandler",
    "RemoteKernelHandler",
    "RemoteKernelsHandler",
    "SessionStartHandler",
    "WarmPoolsHandler",
    "handlers",
]

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


class WarmPoolsHandler(_RemoteKernelsAPIHandler):
    """``GET /api/remote-kernels/pools``: each kernelspec's warm pool per kernel user:
    ``[{kernel_name, display_name, user, target, ready, launching, status, detail}]``."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        self.finish(json.dumps(self.remote_manager.pool_models()))


class RemoteKernelHandler(_RemoteKernelsAPIHandler):
    """``GET /api/remote-kernels/{kernel_id}``: one kernel's placement; 404 if unknown."""

    @web.authenticated
    @authorized
    def get(self, kernel_id: str) -> None:
        self.finish(json.dumps(self.remote_manager.placement_model(kernel_id)))


class KernelStartHandler(IdentityMixin, MainKernelHandler):
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
        self.check_claimed_user(client_env)
        start_kwargs = {}
        kernel_env = {k: v for k, v in client_env.items() if k.startswith("KERNEL_")}
        if kernel_env:
            start_kwargs["env"] = {**os.environ, **kernel_env}
        try:
            kernel_id = await ensure_async(
                km.start_kernel(
                    kernel_name=model["name"],
                    path=model.get("path"),
                    kernel_id=model.get("kernel_id"),
                    **start_kwargs,
                )
            )
        except web.HTTPError:
            raise
        except Exception as exc:
            # Jupyter Server would answer "Unhandled error" and a traceback, which the lab
            # shows as is: say what failed instead; the traceback goes to the server log.
            self.log.exception("Starting a %r kernel failed", model["name"])
            msg = f"Starting a {model['name']!r} kernel failed: {type(exc).__name__}: {exc}"
            raise web.HTTPError(500, msg, reason=type(exc).__name__) from exc
        model = await ensure_async(km.kernel_model(kernel_id))
        self.set_header(
            "Location", url_path_join(self.base_url, "api", "kernels", url_escape(kernel_id))
        )
        self.set_status(201)
        self.finish(json.dumps(model, default=str))


class SessionStartHandler(IdentityMixin, SessionRootHandler):
    """``POST /api/sessions`` that keeps a failed kernel start's status and message.

    Jupyter Server turns any error of ``create_session`` into ``HTTP 500`` with the
    message ``"HTTP 503: PlacementError (No host ...)"``; this answers with the kernel
    start's own status (400 bad kernelspec, 503 no host, 504 launch timeout...), message
    and reason, as ``POST /api/kernels`` does.
    """

    def write_error(self, status_code: int, **kwargs) -> None:
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        cause = getattr(exc, "__cause__", None)
        if isinstance(exc, web.HTTPError) and isinstance(cause, web.HTTPError):
            self.set_status(cause.status_code, reason=cause.reason)
            kwargs["exc_info"] = (type(cause), cause, cause.__traceback__)
            status_code = cause.status_code
        elif isinstance(exc, web.HTTPError) and exc.status_code == 500 and cause is not None:
            reason = type(cause).__name__
            readable = web.HTTPError(
                500, f"Starting the kernel failed: {reason}: {cause}", reason=reason
            )
            self.set_status(500, reason=reason)
            kwargs["exc_info"] = (web.HTTPError, readable, exc_info[2])
        super().write_error(status_code, **kwargs)


def handlers(base_url: str = "/") -> list[tuple[str, type]]:
    return [
        (url_path_join(base_url, r"/api/kernels"), KernelStartHandler),
        (url_path_join(base_url, r"/api/sessions"), SessionStartHandler),
        (url_path_join(base_url, r"/api/remote-kernels/?"), RemoteKernelsHandler),
        (url_path_join(base_url, r"/api/remote-kernels/pools/?"), WarmPoolsHandler),
        (url_path_join(base_url, rf"/api/remote-kernels/{_KERNEL_ID}/?"), RemoteKernelHandler),
    ]
