"""The settings of YARN kernels (each overridable per kernelspec in process_proxy.config)."""

from __future__ import annotations

import os

from traitlets import Bool, Enum, Float, List, Unicode, default, validate

from ..provisioning import EnvBundleSettings, positive_seconds
from .endpoints import check_endpoint

__all__ = ["YarnSettings"]


class YarnSettings(EnvBundleSettings):
    """Where the ResourceManager is, how to talk to it, and how kernels are submitted."""

    yarn_endpoint = Unicode(
        "",
        config=True,
        help="Web address of the YARN ResourceManager, e.g. http://rm1:8088 (Enterprise "
        "Gateway's .../ws/v1/cluster form is accepted). Default: $EG_YARN_ENDPOINT, else "
        "gateway_provisioners' $GP_YARN_ENDPOINT.",
    )
    alt_yarn_endpoints = List(
        Unicode(),
        config=True,
        help="Further ResourceManagers of an HA cluster; the active one is found and "
        "followed. Enterprise Gateway's alt_yarn_endpoint (one string) is accepted. "
        "Default: $EG_ALT_YARN_ENDPOINT, else $GP_ALT_YARN_ENDPOINT.",
    )
    yarn_auth = Enum(
        ["simple", "kerberos", "none"],
        "simple",
        config=True,
        help="How to authenticate to the RM: simple (?user.name=), kerberos (SPNEGO; needs "
        "pip install 'jupyter_remote_kernels[kerberos]') or none.",
    )
    yarn_endpoint_security_enabled = Bool(
        False,
        config=True,
        help="Enterprise Gateway's switch for Kerberos; True means yarn_auth=kerberos.",
    )
    yarn_user = Unicode(
        "", config=True, help="user.name for simple auth (default: the server's user)."
    )
    yarn_verify_tls = Bool(
        True, config=True, help="Verify the RM's TLS certificate (https endpoints)."
    )
    yarn_ca_bundle = Unicode(
        "", config=True, help="CA bundle file to verify the RM's certificate with."
    )
    yarn_request_timeout = Float(10.0, config=True, help="Seconds one request to the RM may take.")
    yarn_poll_interval = Float(
        1.0,
        config=True,
        help="Seconds between two RM polls; one GET /apps per interval serves every YARN "
        "kernel of the server on that cluster.",
    )
    yarn_queue = Unicode("default", config=True, help="YARN queue; fills {yarn_queue} in argv.")
    kill_timeout = Float(
        30.0,
        config=True,
        help="Seconds to wait for YARN to confirm that a killed application ended.",
    )

    @default("yarn_endpoint")
    def _default_endpoint(self) -> str:
        return os.environ.get("EG_YARN_ENDPOINT") or os.environ.get("GP_YARN_ENDPOINT", "")

    @default("alt_yarn_endpoints")
    def _default_alt(self) -> list[str]:
        alt = os.environ.get("EG_ALT_YARN_ENDPOINT") or os.environ.get("GP_ALT_YARN_ENDPOINT", "")
        return [alt] if alt else []

    @validate("yarn_endpoint")
    def _validate_endpoint(self, proposal: dict) -> str:
        return check_endpoint(proposal["value"]) if proposal["value"].strip() else ""

    @validate("alt_yarn_endpoints")
    def _validate_alt(self, proposal: dict) -> list[str]:
        return [check_endpoint(v) for v in proposal["value"] if v.strip()]

    @validate("yarn_request_timeout", "yarn_poll_interval", "kill_timeout")
    def _validate_seconds(self, proposal: dict) -> float:
        return positive_seconds(proposal)
