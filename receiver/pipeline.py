"""HTTP edge for Telegram updates; owns status-code policy; no SQL, no outbound calls.

`Pipeline.handle` is the whole webhook story, in the order of DESIGN.md's status policy; the
statuses themselves are receiver/policy.py's. Every update acknowledged with 2xx has been
persisted first. Servers reach it only through `receiver.asgi`, which translates a request to
a `WebhookRequest` and an `Answer` back; WSGI callers go through that same adapter.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core import metrics
from core.config import Settings
from core.metrics import REQUEST_OUTCOMES
from core.privacy import keyed
from core.storage import IncomingUpdate, IngestStore, StoreError
from core.updates import Schema, UpdateInfo
from receiver.parsing import Rejected, is_json_content_type, parse_update
from receiver.policy import status_for
from receiver.security import is_secret_valid, is_source_allowed, parse_networks

log = logging.getLogger(__name__)
PREFIX = "/webhook/"
OK_BODY = b'{"ok":true}'
Headers = tuple[tuple[str, str], ...]
# Reads the body, stopping once it holds more than `limit` bytes; raises ClientGone.
BodyReader = Callable[[int], Awaitable[bytes]]


class ClientGone(Exception):
    """The client closed the connection before sending the whole body."""


@dataclass(frozen=True)
class WebhookRequest:
    """What the policy needs from a POST /webhook/<bot>, whatever server carried it."""

    bot: str
    method: str
    secret: str | None
    content_type: str | None
    content_length: int | None
    peer: str | None
    forwarded_for: str | None
    read_body: BodyReader


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: Headers = ()


def error_body(message: str) -> bytes:
    return json.dumps({"ok": False, "error": message}).encode()


UNKNOWN_BOT = Answer(status_for("unknown_bot"), error_body("unknown bot"))
NOT_POST = Answer(status_for("method_not_allowed"), error_body("use POST"), (("Allow", "POST"),))


class Pipeline:
    """Route, authenticate, read, parse, claim-and-store, count, answer."""

    def __init__(self, store: IngestStore, settings: Settings, schema: Schema) -> None:
        self.store, self.schema = store, schema
        self.bots = settings.bots
        self.limit: int = settings.max_body_bytes
        self.allowlist_on: bool = settings.ip_allowlist
        self.allowed = parse_networks(settings.allowed_networks)
        self.proxies = parse_networks(settings.trusted_proxies)
        self.retry_after = (("Retry-After", str(settings.retry_after_seconds)),)
        self.chat_key_key = settings.chat_key_hmac_key.reveal()
        types = (*schema.update_types, "unknown")
        # Label lookups cost as much as the rest of the hot path: resolve the children once.
        self.requests = {
            (b, o): metrics.REQUESTS.labels(b, o) for b in self.bots for o in REQUEST_OUTCOMES
        }
        self.updates = {(b, t): metrics.UPDATES.labels(b, t) for b in self.bots for t in types}
        self.duration = {b: metrics.REQUEST_DURATION.labels(b) for b in self.bots}
        self.duplicates = {b: metrics.DUPLICATES.labels(b) for b in self.bots}
        self.store_failures = {b: metrics.STORE_FAILURES.labels(b) for b in self.bots}

    async def handle(self, request: WebhookRequest) -> Answer:
        started, bot = time.perf_counter(), request.bot
        # Telegram calls only the URL given to setWebhook: another bot name is not a delivery.
        if bot not in self.bots:
            return UNKNOWN_BOT
        # Telegram delivers updates with POST only.
        if request.method != "POST":
            return NOT_POST
        # Telegram sends the setWebhook secret on every call; without it, it is not Telegram.
        if not is_secret_valid(self.bots[bot].secret_token, request.secret):
            return self.refuse(bot, "unauthorized", "secret token missing or wrong", started)
        # Telegram calls from its published ranges (checked only when the allowlist is on).
        if self.allowlist_on and not self.is_from_allowed_source(request):
            return self.refuse(bot, "forbidden", "source address not allowed", started)
        # Telegram always posts application/json.
        if not is_json_content_type(request.content_type):
            return self.refuse(
                bot, "unsupported_media_type", "Content-Type must be application/json", started
            )
        try:
            # Telegram's updates are far below the limit: 413, and unread when the length says so.
            body = await self.read(request)
            # Telegram always sends an object with an update_id: anything else is a 400.
            update, info = self.admit(bot, body)
            # Telegram re-delivers until it sees a 2xx: the atomic claim makes a repeat a duplicate.
            is_new = await self.store.record_update_async(update, forward=self.forwards(bot))
        except Rejected as exc:
            return self.refuse(bot, exc.outcome, exc.message, started)
        except StoreError as exc:
            # Telegram retries a non-2xx later: nothing is acknowledged that was not saved.
            return self.unavailable(bot, exc, started)
        outcome = self.settle(bot, info, is_new)
        return self.count(bot, outcome, started, Answer(status_for(outcome), OK_BODY))

    async def read(self, request: WebhookRequest) -> bytes:
        """At most `limit` bytes, or Rejected."""
        declared = request.content_length
        if declared is not None and declared > self.limit:
            raise self.too_large()
        try:
            body = await request.read_body(self.limit)
        except ClientGone:
            raise Rejected("bad_request", "client went away before sending the body") from None
        if len(body) > self.limit:
            raise self.too_large()
        return body

    def too_large(self) -> Rejected:
        return Rejected("too_large", f"body over {self.limit} bytes")

    def is_from_allowed_source(self, request: WebhookRequest) -> bool:
        return is_source_allowed(request.peer, request.forwarded_for, self.allowed, self.proxies)

    def admit(self, bot: str, body: bytes) -> tuple[IncomingUpdate, UpdateInfo]:
        _, info = parse_update(body, self.schema)
        update = IncomingUpdate(
            bot,
            info.update_id,
            info.type,
            keyed(info.chat_key, self.chat_key_key),
            body,
            time.time(),
            info.conforms,
        )
        return update, info

    def forwards(self, bot: str) -> bool:
        return bool(self.bots[bot].forward_url)

    def settle(self, bot: str, info: UpdateInfo, is_new: bool) -> str:
        """The outcome of a stored (or recognised) update, counted."""
        if not is_new:
            self.duplicates[bot].inc()
            return "duplicate"
        self.updates[bot, info.type].inc()
        if info.type == "unknown":
            return "unknown_type"
        if info.deviations:
            deviations = "; ".join(info.deviations[:3])
            log.info(
                "update %s of bot %s deviates from the spec: %s", info.update_id, bot, deviations
            )
            return "schema_deviation"
        return "accepted"

    def refuse(self, bot: str, outcome: str, reason: str, started: float) -> Answer:
        log.info("rejected update for bot %s: %s", bot, reason)
        return self.count(bot, outcome, started, Answer(status_for(outcome), error_body(reason)))

    def unavailable(self, bot: str, exc: StoreError, started: float) -> Answer:
        self.store_failures[bot].inc()
        log.error("store failed, answered 503 for bot %s: %s", bot, exc)
        answer = Answer(
            status_for("store_failed"), error_body("store unavailable"), self.retry_after
        )
        return self.count(bot, "store_failed", started, answer)

    def count(self, bot: str, outcome: str, started: float, answer: Answer) -> Answer:
        self.requests[bot, outcome].inc()
        self.duration[bot].observe(time.perf_counter() - started)
        return answer
