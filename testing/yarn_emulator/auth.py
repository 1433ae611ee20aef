"""Authentication of an emulated RM: ``user.name``, signed ``hadoop.auth`` cookies and
SPNEGO (Kerberos), as Hadoop's authentication handlers do."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Optional
from urllib.parse import urlsplit

from .model import ANONYMOUS_USER, HttpError, now_ms


class AuthMixin:
    """Authentication of :class:`~.rm.YarnRM`."""

    def _cookie_user(self, h) -> Optional[str]:
        for part in (h.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name != "hadoop.auth":
                continue
            token = value.strip().strip('"')
            payload, _, sig = token.rpartition("&s=")
            want = base64.b64encode(hmac.new(self.cluster.secret, payload.encode(),
                                             hashlib.sha256).digest()).decode()
            if not hmac.compare_digest(sig, want):
                continue
            fields = dict(p.partition("=")[::2] for p in payload.split("&"))
            if int(fields.get("e", "0")) < now_ms():
                continue
            return fields.get("u") or None
        return None

    def _spnego_user(self, h, method: str, path: str, extra: dict) -> str:
        """The short name of the Kerberos principal whose SPNEGO token the request carries."""
        import gssapi  # noqa: PLC0415 (only for an RM with SPNEGO)

        scheme, _, token = (h.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "negotiate" or not token.strip():
            extra["WWW-Authenticate"] = "Negotiate"
            raise HttpError(401, "Authentication required")
        try:
            creds = gssapi.Credentials(usage="accept", store={"keytab": self.spnego_keytab})
            ctx = gssapi.SecurityContext(creds=creds, usage="accept")
            answer = ctx.step(base64.b64decode(token.strip(), validate=True))
        except (gssapi.exceptions.GSSError, ValueError) as exc:
            with self._count_lock:
                self.spnego_refused += 1
            extra["WWW-Authenticate"] = "Negotiate"
            raise HttpError(401, f"GSSException: {exc}") from None
        if not ctx.complete:
            with self._count_lock:
                self.spnego_refused += 1
            extra["WWW-Authenticate"] = "Negotiate"
            raise HttpError(401, "GSSException: SPNEGO needs more than one round")
        if answer:  # mutual authentication
            extra["WWW-Authenticate"] = "Negotiate " + base64.b64encode(answer).decode()
        principal = str(ctx.initiator_name)
        with self._count_lock:
            self.spnego_principals.append((method, path, principal))
        return principal.split("@", maxsplit=1)[0].split("/", maxsplit=1)[0]

    def _authenticate(self, h, method: str, query: dict, extra: dict) -> str:
        if self.spnego_keytab:
            return self._spnego_user(h, method, urlsplit(h.path).path, extra)
        name = (query.get("user.name") or [""])[0]
        if name and self.set_auth_cookie:
            payload = f"u={name}&p={name}&t=simple&e={now_ms() + 36_000_000}"
            sig = base64.b64encode(hmac.new(self.cluster.secret, payload.encode(),
                                            hashlib.sha256).digest()).decode()
            extra["Set-Cookie"] = f'hadoop.auth="{payload}&s={sig}"; Path=/; HttpOnly'
        user = name or self._cookie_user(h)
        if user:
            return user
        if self.require_user_name and method in ("POST", "PUT", "DELETE"):
            # EMULATOR: a cluster whose auth filter disallows anonymous writes
            # answers 401 (the filter's own page is HTML; we use the JSON envelope).
            raise HttpError(401, "Authentication required: anonymous requests are "
                                 "disallowed, pass ?user.name=NAME")
        return ANONYMOUS_USER
