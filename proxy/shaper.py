"""Every proxied Bot API call goes through here: flood-shaped (core/flood.py, state shared in
the store), retried on Telegram's 429 while the body is still held, and measured.

The call's chat_id is read from its query string and the first PEEK_BYTES of its body (a
multipart upload's leading parts); those bytes then go on followed by the rest, so an upload
is never held whole. A call that would wait more than TGWEBHOOK_FLOOD_MAX_WAIT_SECONDS gets
Telegram's own 429 with the remaining retry_after instead, so the bot's retry logic applies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

from core import metrics
from core.flood import (
    Decision,
    FloodKey,
    FloodSettings,
    block_key,
    keys_of,
    outcome_of,
    wait_turn,
)
from core.storage import FloodStore, StoreError
from proxy import envelope
from proxy.params import peeked_chat_id
from proxy.upstream import Call, Send, Upstream, reply

log = logging.getLogger("tgwebhook.proxy")
PEEK_BYTES = 64 * 1024  # bodies up to this are held whole (and may be retried after a 429)
ATTEMPTS = 3  # sends of one held call, 429s included
CAPTURED = 4096  # of a 429's body: enough for its parameters


class Shaper:
    def __init__(
        self,
        settings: FloodSettings,
        store: FloodStore,
        upstream: Upstream,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.upstream = upstream
        self.clock = clock

    async def forward(self, bot: str, method: str, call: Call, send: Send) -> str:
        """Shape and send the call; its outcome (core.metrics.BOTAPI_OUTCOMES)."""
        prefix, rest = await peek(call.body(), PEEK_BYTES)
        headers = dict(call.headers)
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        chat_id = peeked_chat_id(call.query, content_type, prefix, rest is None)
        keys = keys_of(self.settings, method, chat_id) if self.settings.flood_shaping else ()
        if rest is None:
            call = replace(call, body=lambda: chunks_of(prefix))
        else:
            call = replace(call, body=lambda: chained(prefix, rest))
        # Without shaping a 429 is not retried: nothing would wait its retry_after.
        held = rest is None and bool(keys)
        return await self.attempts(bot, keys, call, send, held)

    async def attempts(
        self, bot: str, keys: tuple[FloodKey, ...], call: Call, send: Send, held: bool
    ) -> str:
        """Send until Telegram answers other than 429, the body is gone or the wait too long."""
        deadline = self.clock() + self.settings.flood_max_wait_seconds
        answer: Capture | None = None
        for attempt in range(ATTEMPTS):
            decision = await self.wait_turn(bot, keys, deadline - self.clock())
            if not decision.admitted:
                if answer is not None:  # Telegram's own 429, held for a retry that cannot be
                    await answer.flush()
                    return "flood_wait"
                await reply(send, too_many_requests(decision.refused_retry_after or 1))
                return "shaped"
            answer = Capture(send, hold=held and attempt < ATTEMPTS - 1)
            status = await self.upstream.forward(call, answer)
            if status != 429:
                return outcome_of(status)
            recorded = await self.flooded(bot, keys, answer)
            if answer.holding and not recorded:  # no wait known to retry after: pass it on
                await answer.flush()
            if not (answer.holding and recorded):
                return "flood_wait"
        return "flood_wait"

    async def wait_turn(self, bot: str, keys: tuple[FloodKey, ...], max_wait: float) -> Decision:
        try:
            return await wait_turn(self.store, bot, keys, max_wait, self.clock)
        except StoreError as exc:  # shaping is a courtesy to Telegram: never fail a call for it
            log.warning("proxy: flood state unavailable, call not shaped: %s", exc)
            return Decision()

    async def flooded(self, bot: str, keys: tuple[FloodKey, ...], answer: Capture) -> bool:
        """Telegram answered 429: nothing more for this method in this chat until it allows.
        Whether that was recorded (so a retry waits for it)."""
        retry_after = answer.retry_after()
        if retry_after is None:
            return False
        metrics.BOTAPI_FLOOD_WAIT.labels(bot).observe(retry_after)
        if not keys:  # shaping is off
            return False
        try:
            until = self.clock() + retry_after
            await asyncio.to_thread(self.store.record_flood, bot, block_key(keys), until)
        except StoreError as exc:
            log.warning("proxy: could not record a 429's retry_after: %s", exc)
            return False
        return True


def too_many_requests(retry_after: int) -> envelope.Answer:
    return envelope.error(429, f"Too Many Requests: retry after {retry_after}", retry_after)


class Capture:
    """Passes Telegram's answer on to the bot, keeping the start of a 429's body; with `hold`,
    keeps a 429 back instead (it is sent by `flush` if no retry replaces it)."""

    def __init__(self, send: Send, hold: bool) -> None:
        self.send = send
        self.hold = hold
        self.holding = False
        self.headers: dict[bytes, bytes] = {}
        self.body = b""
        self.held: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.holding = self.hold and message["status"] == 429
            self.headers = dict(message.get("headers") or ())
        elif len(self.body) < CAPTURED:
            self.body += message.get("body", b"")
        if self.holding:
            self.held.append(message)
        else:
            await self.send(message)

    async def flush(self) -> None:
        for message in self.held:
            await self.send(message)

    def retry_after(self) -> float | None:
        try:
            value = json.loads(self.body)["parameters"]["retry_after"]
        except (ValueError, KeyError, TypeError):
            value = self.headers.get(b"retry-after")
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            return None


async def peek(body: AsyncIterator[bytes], limit: int) -> tuple[bytes, AsyncIterator[bytes] | None]:
    """The body's first `limit` bytes (or all of it) and what is left, None if nothing is."""
    prefix = b""
    async for chunk in body:
        prefix += chunk
        if len(prefix) >= limit:
            return prefix, body
    return prefix, None


async def chunks_of(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def chained(prefix: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield prefix
    async for chunk in rest:
        yield chunk
