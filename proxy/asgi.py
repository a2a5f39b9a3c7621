"""The proxy's ASGI app: `/bot<token>/<method>` and `/file/bot<token>/<path>` on the ops
listener. The token in the path is the credential: it selects the configured bot (constant-time
compare) and is never logged; an unknown one gets Telegram's own 401."""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any, Protocol

from core import flood
from core.config import BotConfig, Settings
from core.storage import FloodStore, PollStore
from proxy import envelope, intercepts
from proxy.feed import WEBHOOK_ACTIVE, Feed
from proxy.params import Unparsable, parse
from proxy.shaper import Shaper
from proxy.upstream import Call, Upstream, reply

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
PREFIXES = ("/bot", "/file/bot")
MAX_LOCAL_BODY = 1 << 20  # the methods answered here take small parameters


class ProxyStore(PollStore, FloodStore, Protocol):
    """getUpdates from the store, and the flood state shared with other processes."""


class ProxyASGI:
    def __init__(self, settings: Settings, store: ProxyStore, known: tuple[str, ...]) -> None:
        self.bots = {bot.token.reveal(): bot for bot in settings.bots.values() if bot.token}
        self.store = store
        self.known = known
        self.honour = settings.proxy_honour
        self.feed = Feed(store, known, time.time)
        self.upstream = Upstream(settings.api_base, settings.http_timeout_seconds)
        self.shaper = Shaper(settings, store, self.upstream)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        is_file = scope["path"].startswith("/file/bot")
        token, _, rest = scope["path"].removeprefix("/file").removeprefix("/bot").partition("/")
        bot = self.bot_for(token)
        if not rest:  # Telegram: /bot<token> without a method is 404 whatever the token
            return await reply(send, envelope.NOT_FOUND)
        if bot is None:
            return await reply(send, envelope.UNAUTHORIZED)
        method = rest.lower()
        call, started = self.call(scope, receive, bot, is_file, rest), time.monotonic()
        if is_file:  # a download: no method, no chat, nothing to shape or count
            await self.upstream.forward(call, send)
            return
        if self.local(bot, method):
            await reply(send, await self.answer_locally(bot, method, scope, receive))
            outcome = "local"
        else:
            outcome = await self.shaper.forward(bot.name, method, call, send)
        flood.count_call(bot.name, method, outcome, started)

    def bot_for(self, token: str) -> BotConfig | None:
        found = None
        for known, bot in self.bots.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = bot
        return found

    def local(self, bot: BotConfig, method: str) -> bool:
        if method == "getupdates":
            return True
        if bot.forward_url:  # a webhook bot manages its webhook through the appliance's commands
            return False
        return method in intercepts.LOCAL and not intercepts.passes(method, self.honour)

    async def answer_locally(
        self, bot: BotConfig, method: str, scope: Scope, receive: Receive
    ) -> envelope.Answer:
        body = await read_body(receive, MAX_LOCAL_BODY)
        if body is None:
            return envelope.error(413, "Request Entity Too Large")
        headers = dict(scope.get("headers") or ())
        try:
            params = parse(
                scope.get("query_string", b""),
                headers.get(b"content-type", b"").decode("latin-1"),
                body,
                strict=True,
            )
        except Unparsable as exc:  # nothing was read, so nothing is confirmed or changed
            return envelope.error(400, f"Bad Request: {exc}")
        if method != "getupdates":
            return await intercepts.answer(
                self.store, bot.name, method, params, self.honour, self.known
            )
        if bot.forward_url:
            return await self.feed.conflict(bot.name, WEBHOOK_ACTIVE)
        return await self.feed.get_updates(bot.name, params)

    def call(
        self, scope: Scope, receive: Receive, bot: BotConfig, is_file: bool, rest: str
    ) -> Call:
        path = f"{'file/' if is_file else ''}bot{bot.token.reveal()}/{rest}"
        return Call(
            scope["method"],
            path,
            scope.get("query_string", b""),
            tuple(scope.get("headers") or ()),
            lambda: body_chunks(receive),
        )


async def read_body(receive: Receive, limit: int) -> bytes | None:
    body = b""
    async for chunk in body_chunks(receive):
        body += chunk
        if len(body) > limit:
            return None
    return body


async def body_chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        yield message.get("body", b"")
        if not message.get("more_body"):
            return
