"""An identity provider for the pool tests' server process: one token per named user."""

from __future__ import annotations

from jupyter_server.auth.identity import IdentityProvider, User

TOKENS = {"alice-token": "alice", "bob-token": "bob", "carol-token": "carol"}


class TokenUsers(IdentityProvider):
    """``Authorization: token <name>-token`` is the user ``<name>``; anything else is nobody."""

    @property
    def auth_enabled(self) -> bool:
        return True

    def get_user(self, handler):
        header = handler.request.headers.get("Authorization", "")
        token = header[len("token ") :].strip() if header.startswith("token ") else ""
        name = TOKENS.get(token)
        return User(username=name) if name else None
