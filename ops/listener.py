"""The ops listener's application: every path operators use, behind ops/access.py's
credentials. The Flask app behind it serves ops/views.py (/metrics, /health, /readyz, /livez)
and the console (ops/console/, which checks roles itself); the Bot API proxy joins as an ASGI
route in front of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ops.access import Access, needs_token

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
UNAUTHORIZED = (
    b'{"error":"unauthorized: send Authorization: Bearer <TGWEBHOOK_OPS_TOKEN>'
    b' or basic auth of a TGWEBHOOK_OPS_USERS_FILE user"}'
)


class OpsASGI:
    """`routes` (path prefix, ASGI app) first, then `fallback`; all but /livez need credentials.
    `own_auth` routes authenticate their callers themselves (the Bot API proxy: the bot token in
    the path), so the ops token is not asked of them."""

    def __init__(
        self,
        fallback: ASGIApp,
        access: Access,
        routes: tuple[tuple[str, ASGIApp], ...] = (),
        own_auth: tuple[tuple[str, ASGIApp], ...] = (),
    ) -> None:
        self.fallback = fallback
        self.routes = routes
        self.own_auth = own_auth
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        for prefix, app in self.own_auth:
            if scope["type"] == "http" and path.startswith(prefix):
                return await app(scope, receive, send)
        if scope["type"] == "http" and not self.allowed(scope):
            return await refuse(send, self.access.scheme)
        for prefix, app in self.routes:
            if path.startswith(prefix):
                return await app(scope, receive, send)
        await self.fallback(scope, receive, send)

    def allowed(self, scope: Scope) -> bool:
        if not needs_token(scope["path"]):
            return True
        offered = dict(scope.get("headers") or ()).get(b"authorization")
        return self.access.principal(offered) is not None


async def refuse(send: Send, scheme: str = "Bearer") -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(UNAUTHORIZED)).encode()),
        (b"www-authenticate", f'{scheme} realm="tgwebhook ops"'.encode()),
    ]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": UNAUTHORIZED})
