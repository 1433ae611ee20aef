"""Placement on a user's server whose kernels run on a gateway (``--gateway-url``).

A JupyterHub user's server started with ``--gateway-url`` at a shared Jupyter Server that
runs this extension keeps Jupyter Server's own gateway managers: kernels start, run and
stop on the gateway. Jupyter Server's gateway client keeps the gateway's kernel model
whole, so ``GET /api/kernels`` on the user's server carries each kernel's ``placement``
already; the lab extension asks ``/api/remote-kernels`` of the server it was loaded from,
and that lives on the gateway. On such a server the extension answers
``/api/remote-kernels`` (and ``/pools``, ``/{kernel_id}``) by asking the gateway, with the
gateway client's own settings (URL, token, headers, certificates, cookies), through
tornado's asynchronous HTTP client with bounded timeouts, and keeps only this server's
own kernels (the gateway lists every user's) and the warm pools' kernels.

Jupyter Server answers a start the gateway refused with its message unformatted ("Error from
Gateway: [%s] %s"); the kernel and session handlers here say what the gateway said.

A gateway without this extension (Enterprise Gateway, Kernel Gateway) answers 404: the list
then comes from the kernel models the gateway client keeps (``placement`` where the gateway
gave one, else ``null``), and there are no pools.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.gateway.gateway_client import GatewayClient
from jupyter_server.services.kernels.handlers import KernelActionHandler, MainKernelHandler
from jupyter_server.utils import url_escape, url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from traitlets import Float
from traitlets.config import LoggingConfigurable

from .handlers import SessionStartHandler

__all__ = [
    "GatewayKernelActionHandler",
    "GatewayKernelStartHandler",
    "GatewayPlacementClient",
    "GatewayPlacementsHandler",
    "GatewayPoolsHandler",
    "GatewayRemoteKernelHandler",
    "GatewaySessionStartHandler",
    "gateway_handlers",
    "gateway_url",
]

API_PATH = "api/remote-kernels"
_KERNEL_ID = r"(?P<kernel_id>\w+-\w+-\w+-\w+-\w+)"
_SETTING = "jupyter_remote_kernels_gateway_client"


def gateway_url(serverapp: Any) -> Optional[str]:
    """The gateway URL the server sends its kernels to (``--gateway-url``), or None.

    Before Jupyter Server made its gateway client (while extensions are linked) the URL is
    read from the configuration and ``JUPYTER_GATEWAY_URL``, as the client will read it.
    """
    client = getattr(serverapp, "gateway_config", None)
    if client is not None:
        return client.url if client.gateway_enabled else None
    configured = serverapp.config.get("GatewayClient", {}).get("url")
    return configured or os.environ.get(GatewayClient.url_env) or None


class GatewayPlacementClient(LoggingConfigurable):
    """Asks the gateway's ``/api/remote-kernels`` on behalf of a user's server."""

    request_timeout = Float(
        10.0,
        config=True,
        help="Seconds a request of a user's server (started with --gateway-url) to the "
        "gateway's /api/remote-kernels may take, connecting included. Jupyter Server's own "
        "GatewayClient.request_timeout is sized for kernel starts; placement is polled by "
        "the lab every few seconds and should fail fast when the gateway is down.",
    )

    async def get(self, path: str = "") -> Optional[Any]:
        """The gateway's answer to ``GET /api/remote-kernels/<path>``; None on its 404.

        Raises :class:`tornado.web.HTTPError` 503 when the gateway cannot be reached or did
        not answer in time, 502 when it answered with an error.
        """
        client = self.parent.gateway_config  # the server's own (ServerApp made it)
        base = client.url
        url = url_path_join(base, API_PATH, path) if path else url_path_join(base, API_PATH)
        kwargs = client.load_connection_args(method="GET")
        kwargs["connect_timeout"] = min(float(kwargs["connect_timeout"]), self.request_timeout)
        kwargs["request_timeout"] = min(float(kwargs["request_timeout"]), self.request_timeout)
        try:
            response = await AsyncHTTPClient().fetch(url, **kwargs)
        except HTTPClientError as exc:
            if exc.code == 404:
                return None
            if exc.code == 599:
                msg = (
                    f"The kernel gateway at {base} did not answer {url} within "
                    f"{self.request_timeout:g} s ({exc.message}). Check that the gateway runs "
                    "and is reachable from this server (GatewayClient.url, --gateway-url)."
                )
                raise web.HTTPError(503, msg, reason="Gateway Unavailable") from exc
            msg = (
                f"The kernel gateway at {base} answered {url} with HTTP {exc.code}: "
                f"{_gateway_message(exc)}. Check the gateway token (GatewayClient.auth_token) "
                "and that the gateway runs jupyter_remote_kernels."
            )
            raise web.HTTPError(502, msg, reason="Bad Gateway") from exc
        except OSError as exc:  # refused, unreachable, unknown host, TLS
            msg = (
                f"The kernel gateway at {base} cannot be reached: {exc}. Check that the "
                "gateway runs and GatewayClient.url (--gateway-url) points at it."
            )
            raise web.HTTPError(503, msg, reason="Gateway Unavailable") from exc
        if client.accept_cookies:
            client.update_cookies(response.headers)
        try:
            return json.loads(response.body)
        except ValueError as exc:
            msg = f"The kernel gateway at {base} answered {url} with something not JSON."
            raise web.HTTPError(502, msg, reason="Bad Gateway") from exc


def _gateway_message(exc: HTTPClientError) -> str:
    body = exc.response.body if exc.response is not None else b""
    try:
        return str(json.loads(body).get("message") or exc.message)
    except (ValueError, AttributeError):
        return str(exc.message)


class _GatewayAPIHandler(APIHandler):
    auth_resource = "kernels"

    @property
    def placements(self) -> GatewayPlacementClient:
        return self.settings[_SETTING]

    def own_kernel_ids(self) -> set[str]:
        """The kernels this server started or connected to on the gateway."""
        return set(self.kernel_manager.list_kernel_ids())

    def fallback_model(self, kernel_id: str) -> dict[str, Any]:
        """A kernel's entry from the model the gateway client keeps (gateway without us)."""
        model = self.kernel_manager.get_kernel(kernel_id).kernel or {}
        name = model.get("name") or ""
        return {
            "kernel_id": kernel_id,
            "kernel_name": name,
            "display_name": name,
            "placement": model.get("placement"),
        }


class GatewayPlacementsHandler(_GatewayAPIHandler):
    """``GET /api/remote-kernels``: this server's kernels on the gateway, pool kernels too."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        own = self.own_kernel_ids()
        models = await self.placements.get()
        if models is None:
            models = [self.fallback_model(kid) for kid in sorted(own)]
        else:
            models = [m for m in models if m.get("kernel_id") in own or m.get("pool")]
        self.finish(json.dumps(models))


class GatewayPoolsHandler(_GatewayAPIHandler):
    """``GET /api/remote-kernels/pools``: the gateway's warm pools."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        pools = await self.placements.get("pools")
        self.finish(json.dumps(pools or []))


class GatewayRemoteKernelHandler(_GatewayAPIHandler):
    """``GET /api/remote-kernels/{kernel_id}``: one of this server's kernels; 404 else."""

    @web.authenticated
    @authorized
    async def get(self, kernel_id: str) -> None:
        if kernel_id not in self.own_kernel_ids():
            raise web.HTTPError(404, f"Kernel does not exist: {kernel_id}")
        model = await self.placements.get(url_escape(kernel_id))
        self.finish(json.dumps(model if model is not None else self.fallback_model(kernel_id)))


def readable_gateway_error(exc: web.HTTPError) -> web.HTTPError:
    """``exc`` with its message formatted: Jupyter Server's gateway client raises
    ``HTTPError(code, "Error from Gateway: [%s] %s. ...", message, reason)``, and its API
    handlers answer ``log_message`` without its arguments."""
    if not exc.args or not exc.log_message:
        return exc
    if exc.log_message.startswith("Error from Gateway") and len(exc.args) == 2:
        message = f"{exc.args[0]} (the kernel gateway answered HTTP {exc.status_code})"
    else:
        try:
            message = exc.log_message % exc.args
        except (TypeError, ValueError):
            message = " ".join([exc.log_message, *map(str, exc.args)])
    return web.HTTPError(exc.status_code, message.replace("%", "%%"), reason=exc.reason)


class _ReadableErrors:
    """For Jupyter's kernel and session handlers: the gateway's own message in errors."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        if isinstance(exc, web.HTTPError):
            cause = exc.__cause__
            if isinstance(cause, web.HTTPError):
                # Jupyter's session handler wraps the start's error in a 500.
                cause = readable_gateway_error(cause)
                readable = readable_gateway_error(exc)
                readable.__cause__ = cause
            else:
                readable = readable_gateway_error(exc)
            kwargs["exc_info"] = (type(readable), readable, exc_info[2])
        super().write_error(status_code, **kwargs)  # type:ignore[misc]


class GatewayKernelStartHandler(_ReadableErrors, MainKernelHandler):
    """Jupyter Server's ``/api/kernels``, answering with the gateway's error message."""


class GatewayKernelActionHandler(_ReadableErrors, KernelActionHandler):
    """Jupyter Server's interrupt / restart, answering with the gateway's error message."""


class GatewaySessionStartHandler(_ReadableErrors, SessionStartHandler):
    """``/api/sessions`` with the start's status and the gateway's error message."""


def gateway_handlers(base_url: str = "/") -> list[tuple[str, type]]:
    action = r"(?P<action>restart|interrupt)"
    return [
        (url_path_join(base_url, r"/api/kernels"), GatewayKernelStartHandler),
        (
            url_path_join(base_url, rf"/api/kernels/{_KERNEL_ID}/{action}"),
            GatewayKernelActionHandler,
        ),
        (url_path_join(base_url, r"/api/sessions"), GatewaySessionStartHandler),
        (url_path_join(base_url, r"/api/remote-kernels/?"), GatewayPlacementsHandler),
        (url_path_join(base_url, r"/api/remote-kernels/pools/?"), GatewayPoolsHandler),
        (
            url_path_join(base_url, rf"/api/remote-kernels/{_KERNEL_ID}/?"),
            GatewayRemoteKernelHandler,
        ),
    ]


def gateway_settings(serverapp: Any) -> dict[str, Any]:
    """The settings the gateway handlers need (the client, configured by the server)."""
    return {_SETTING: GatewayPlacementClient(parent=serverapp, log=serverapp.log)}
