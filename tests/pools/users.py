"""An identity provider for the pool tests' server process: one token per named user."""

from __future__ import annotations

from jupyter_server.auth.identity import IdentityProvider, User

TOKENS = {
    "alice-token": "alice",
    "bob-token": "bob",
    "carol-token": "carol",
    "hub-token": "hub",  # a trusted gateway (trusted_gateway_users)
}


class TokenUsers(IdentityProvider):
    """``Authorization: token <name>-token`` is the user ``<name>``; anything else is nobody.

    Jupyter's own token handling around it stays (token-authenticated requests need no
    XSRF cookie, as with the ordinary token)."""

    def get_user_token(self, handler):
        name = TOKENS.get(self.get_token(handler) or "")
        return User(username=name) if name else None
