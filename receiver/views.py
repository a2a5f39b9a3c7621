"""HTTP edge for Telegram updates; owns status-code policy (receiver/policy.py); no SQL, no
outbound calls. Every update acknowledged with 2xx has been persisted first.

`WebhookEndpoint` is the transport-neutral handler: route, check, parse, claim-and-store,
answer. Two thin adapters carry it: `WebhookApp` (WSGI, for Flask's test client and any WSGI
server) and `receiver.asgi` (what `serve` runs: uvicorn workers under gunicorn). Neither goes
through Flask: profiled, Flask's request machinery cost more CPU than the rest of the request.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus

from core import metrics
from core.config import Settings
from core.metrics import REQUEST_OUTCOMES
from core.storage import IncomingUpdate, StoreError
from core.updates import Schema, UpdateInfo
from receiver.parsing import Rejected, is_json_content_type, parse_update, read_body
from receiver.policy import status_for
from receiver.security import is_secret_valid, is_source_allowed, parse_networks

log = logging.getLogger(__name__)
PREFIX = "/webhook/"
OK_BODY = b'{"ok":true}'
StartResponse = Callable[..., object]
Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class WebhookRequest:
    """What the policy needs from a request, whatever server carried it."""

    bot: str
    method: str
    secret: str | None
    content_type: str | None
    content_length: int | None
    peer: str | None
    forwarded_for: str | None


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: Headers = ()


def error_body(message: str) -> bytes:
    return json.dumps({"ok": False, "error": message}).encode()


def declared_length(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


class WebhookEndpoint:
    def __init__(self, store, settings: Settings, schema: Schema) -> None:
        self.store, self.settings, self.schema = store, settings, schema
        self.allowed = parse_networks(settings.allowed_networks)
        self.proxies = parse_networks(settings.trusted_proxies)
        bots, types = settings.bots, (*schema.update_types, "unknown")
        # Label lookups cost as much as the rest of the hot path: resolve the children once.
        self.requests = {
            (b, o): metrics.REQUESTS.labels(b, o) for b in bots for o in REQUEST_OUTCOMES
        }
        self.updates = {(b, t): metrics.UPDATES.labels(b, t) for b in bots for t in types}
        self.duration = {b: metrics.REQUEST_DURATION.labels(b) for b in bots}
        self.duplicates = {b: metrics.DUPLICATES.labels(b) for b in bots}

    def route(self, request: WebhookRequest) -> Answer | None:
        """404 for an unknown bot, 405 for anything but POST; None to go on."""
        if request.bot not in self.settings.bots:
            return Answer(404, error_body("unknown bot"))
        if request.method != "POST":
            return Answer(405, error_body("use POST"), (("Allow", "POST"),))
        return None

    def check(self, request: WebhookRequest) -> None:
        # Telegram sends the secret given to setWebhook on every call; anything else is not Telegram.
        if not is_secret_valid(self.settings.bots[request.bot].secret_token, request.secret):
            raise Rejected("unauthorized", "secret token missing or wrong")
        if self.settings.ip_allowlist and not is_source_allowed(
            request.peer, request.forwarded_for, self.allowed, self.proxies
        ):
            raise Rejected("forbidden", "source address not allowed")
        if not is_json_content_type(request.content_type):
            raise Rejected("unsupported_media_type", "Content-Type must be application/json")

    def admit(self, request: WebhookRequest, body: bytes) -> tuple[IncomingUpdate, UpdateInfo]:
        _, info = parse_update(body, self.schema)
        update = IncomingUpdate(
            request.bot, info.update_id, info.type, info.chat_key, body, time.time(), info.conforms
        )
        return update, info

    def forwards(self, bot: str) -> bool:
        return bool(self.settings.bots[bot].forward_url)

    def settle(self, bot: str, info: UpdateInfo, is_new: bool) -> str:
        """The outcome of a stored (or recognised) update, counted."""
        if not is_new:
            self.duplicates[bot].inc()
            return "duplicate"
        self.updates[bot, info.type].inc()
        if info.type == "unknown":
            return "unknown_type"
        if info.deviations:
            log.info(
                "update %s of bot %s deviates from the spec: %s",
                info.update_id,
                bot,
                "; ".join(info.deviations[:3]),
            )
            return "schema_deviation"
        return "accepted"

    def fail(self, bot: str, exc: Exception) -> tuple[str, Answer]:
        """Rejected or store failure: the outcome and its answer."""
        if isinstance(exc, Rejected):
            log.info("rejected update for bot %s: %s", bot, exc.message)
            return exc.outcome, Answer(status_for(exc.outcome), error_body(exc.message))
        # Telegram retries a non-2xx later; Retry-After tells proxies and humans when.
        metrics.STORE_FAILURES.labels(bot).inc()
        log.error("store failed, answered 503 for bot %s: %s", bot, exc)
        retry = (("Retry-After", str(self.settings.retry_after_seconds)),)
        return "store_failed", Answer(503, error_body("store unavailable"), retry)

    def answer(
        self, bot: str, outcome: str, started: float, failure: Answer | None = None
    ) -> Answer:
        self.requests[bot, outcome].inc()
        self.duration[bot].observe(time.perf_counter() - started)
        return failure or Answer(status_for(outcome), OK_BODY)


class WebhookApp:
    """The endpoint as a WSGI application (Flask's test client, any WSGI server)."""

    def __init__(self, endpoint: WebhookEndpoint) -> None:
        self.endpoint = endpoint

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        request = WebhookRequest(
            bot=environ.get("PATH_INFO", "")[len(PREFIX) :],
            method=environ.get("REQUEST_METHOD", ""),
            secret=environ.get("HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"),
            content_type=environ.get("CONTENT_TYPE"),
            content_length=declared_length(environ.get("CONTENT_LENGTH")),
            peer=environ.get("REMOTE_ADDR"),
            forwarded_for=environ.get("HTTP_X_FORWARDED_FOR"),
        )
        answer = self.endpoint.route(request) or self.handle(request, environ["wsgi.input"])
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(answer.body))),
            *answer.headers,
        ]
        start_response(f"{answer.status} {HTTPStatus(answer.status).phrase}", headers)
        return [answer.body]

    def handle(self, request: WebhookRequest, stream) -> Answer:
        endpoint, started = self.endpoint, time.perf_counter()
        try:
            endpoint.check(request)
            body = read_body(stream, request.content_length, endpoint.settings.max_body_bytes)
            update, info = endpoint.admit(request, body)
            is_new = endpoint.store.record_update(update, forward=endpoint.forwards(request.bot))
            return endpoint.answer(request.bot, endpoint.settle(request.bot, info, is_new), started)
        except (Rejected, StoreError) as exc:
            outcome, failure = endpoint.fail(request.bot, exc)
            return endpoint.answer(request.bot, outcome, started, failure)


def mount(webhook: WebhookApp, fallback: Callable) -> Callable:
    """A WSGI app sending /webhook/* to `webhook` and everything else to `fallback` (Flask)."""

    def dispatch(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(PREFIX):
            return webhook(environ, start_response)
        return fallback(environ, start_response)

    return dispatch
