"""Who may call what: API keys checked before a request reaches any route.

Checking here, ahead of FastAPI's parsing, means that a request without a
valid key for its route gets 401 or 403 and nothing else, whatever its body.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from vigil.api.errors import error_response
from vigil.api.keys import KeyRing

PUBLIC = re.compile(r"^/(healthz|readyz|metrics|docs|redoc|openapi\.json)(/.*)?$")
# Cooperation with partners over the exchange: agreements, incidents, pings, proposals.
COOPERATION = re.compile(r"^/(agreements|incidents|pings|proposals)(/.*)?$")


def permission_for(method: str, path: str) -> str | None:
    """The permission a request needs (None: open to anyone)."""
    if PUBLIC.match(path) or path == "/exchange/inbox":  # partner nodes sign their requests instead
        return None
    if path.startswith("/audit"):
        return "audit"
    if path.startswith("/keys") or (method == "POST" and path.startswith("/lists")):
        return "admin"
    if path.startswith("/match") or path.startswith("/search"):
        return "match"
    if path.startswith("/exchange") or COOPERATION.match(path):
        return "exchange"
    return "read"


class AccessControl:
    def __init__(self, app: ASGIApp, keys: KeyRing) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        needed = permission_for(scope["method"], scope["path"])
        if needed is not None:
            secret = _bearer(scope)
            key = self.keys.authenticate(secret) if secret else None
            if key is None:
                problem = "an API key is needed: send 'Authorization: Bearer KEY'" if not secret else "the API key is not valid or was revoked"
                await error_response(401, problem, headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
            if not key.may(needed):
                await error_response(403, f"a {key.role} key may not do this (it needs the {needed!r} permission)")(scope, receive, send)
                return
            scope.setdefault("state", {})["key"] = key
        await self.app(scope, receive, send)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            # "ApiKey KEY" is what clients of OpenSanctions' hosted API send.
            return token.strip() if scheme.lower() in ("bearer", "apikey") and token.strip() else None
    return None
