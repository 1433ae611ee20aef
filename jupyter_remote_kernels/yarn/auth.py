"""How the YARN client authenticates and verifies the ResourceManager (requests' side)."""

from __future__ import annotations

from typing import Any, Optional

import requests

from .errors import YarnError

__all__ = ["PinnedVerifySession", "auth_advice", "kerberos_failure", "make_auth"]


class PinnedVerifySession(requests.Session):
    """A session whose own ``verify`` (yarn_ca_bundle, yarn_verify_tls) is what it uses.

    A plain session gives way to $REQUESTS_CA_BUNDLE / $CURL_CA_BUNDLE for every request
    that does not pass ``verify`` itself (psf/requests#3829), and yarn-api-client's never
    do: the configured CA bundle would be ignored wherever those variables are set.
    """

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # type: ignore[no-untyped-def]
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None:
            settings["verify"] = self.verify
        return settings


def make_auth(kind: str) -> Any:
    """The requests auth object for ``yarn_auth`` ``kind`` (None: simple auth, user.name)."""
    if kind != "kerberos":
        return None
    try:
        # Optional extra: imported only when a kernelspec asks for Kerberos.
        from requests_kerberos import OPTIONAL, HTTPKerberosAuth  # noqa: PLC0415
    except ImportError:
        msg = (
            "Kerberos (SPNEGO) authentication to YARN needs the kerberos extra: "
            "pip install 'jupyter_remote_kernels[kerberos]'"
        )
        raise YarnError(msg) from None
    return HTTPKerberosAuth(mutual_authentication=OPTIONAL)


def auth_advice(kind: str, user: str) -> str:
    """What to do about a 401 (or a failed Kerberos exchange), for error messages."""
    if kind == "kerberos":
        return (
            ". Get a valid Kerberos ticket for the user running Jupyter Server with "
            "`kinit` (see `klist`; KRB5CCNAME says which ticket cache is used), or a keytab "
            "with `kinit -kt FILE PRINCIPAL`"
        )
    return f". Check the YARN authentication settings (yarn_auth={kind}, user {user})."


def kerberos_failure(
    kind: str, user: str, endpoint: str, exc: BaseException
) -> Optional[YarnError]:
    """A clear error when ``exc`` is requests-kerberos failing to make a token, else None.

    An expired or missing ticket makes it raise ``KerberosExchangeError`` (a
    ``requests.RequestException``); that is not an RM failure to fail over from.
    """
    if kind != "kerberos" or "Kerberos" not in type(exc).__name__:
        return None
    msg = (
        f"Kerberos authentication to the YARN ResourceManager {endpoint} failed: no valid "
        f"ticket ({exc})" + auth_advice(kind, user) + "."
    )
    return YarnError(msg)
