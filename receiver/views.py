"""HTTP edge for Telegram updates; owns status-code policy (receiver/policy.py); no SQL, no
outbound calls. Every update acknowledged with 2xx has been persisted first.

`POST /webhook/<bot>` is a bare WSGI application mounted in front of Flask: on the hot path,
Flask's request context, routing and response objects cost more CPU than everything else the
request does (profiled: ~130 of ~190 us), and the operational endpoints don't need the speed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus

from core import metrics
from core.config import Settings
from core.metrics import REQUEST_OUTCOMES
from core.storage import IncomingUpdate, StoreError
from core.updates import Schema
from receiver.parsing import Rejected, is_json_content_type, parse_update, read_body
from receiver.policy import status_for
from receiver.security import is_secret_valid, is_source_allowed, parse_networks

log = logging.getLogger(__name__)
PREFIX = "/webhook/"
OK_BODY = b'{"ok":true}'
StartResponse = Callable[..., object]


def respond(
    start_response: StartResponse, status: int, body: bytes, *extra: tuple[str, str]
) -> list[bytes]:
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *extra]
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [body]


def error_body(message: str) -> bytes:
    return json.dumps({"ok": False, "error": message}).encode()


class WebhookApp:
    """The webhook endpoint: check, parse, claim-and-store, answer."""

    def __init__(self, store, settings: Settings, schema: Schema) -> None:
        self.store, self.settings, self.schema = store, settings, schema
        self.allowed = parse_networks(settings.allowed_networks)
        self.proxies = parse_networks(settings.trusted_proxies)
        # Label lookups cost as much as the rest of the hot path: resolve the children once.
        self.requests = {
            (b, o): metrics.REQUESTS.labels(b, o) for b in settings.bots for o in REQUEST_OUTCOMES
        }
        self.updates = {
            (b, t): metrics.UPDATES.labels(b, t)
            for b in settings.bots
            for t in (*schema.update_types, "unknown")
        }
        self.duration = {b: metrics.REQUEST_DURATION.labels(b) for b in settings.bots}
        self.duplicates = {b: metrics.DUPLICATES.labels(b) for b in settings.bots}

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        bot = environ.get("PATH_INFO", "")[len(PREFIX) :]
        if bot not in self.settings.bots:
            return respond(start_response, 404, error_body("unknown bot"))
        if environ.get("REQUEST_METHOD") != "POST":
            return respond(start_response, 405, error_body("use POST"), ("Allow", "POST"))
        started = time.perf_counter()
        extra: tuple[tuple[str, str], ...] = ()
        try:
            self.check(environ, bot)
            outcome, body = self.ingest(environ, bot), OK_BODY
        except Rejected as exc:
            outcome, body = exc.outcome, error_body(exc.message)
            log.info("rejected update for bot %s: %s", bot, exc.message)
        except StoreError as exc:
            # Telegram retries a non-2xx later; Retry-After tells proxies and humans when.
            outcome, body = "store_failed", error_body("store unavailable")
            extra = (("Retry-After", str(self.settings.retry_after_seconds)),)
            metrics.STORE_FAILURES.labels(bot).inc()
            log.error("store failed, answered 503 for bot %s: %s", bot, exc)
        self.requests[bot, outcome].inc()
        self.duration[bot].observe(time.perf_counter() - started)
        return respond(start_response, status_for(outcome), body, *extra)

    def check(self, environ: dict, bot: str) -> None:
        # Telegram sends the secret given to setWebhook on every call; anything else is not Telegram.
        given = environ.get("HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN")
        if not is_secret_valid(self.settings.bots[bot].secret_token, given):
            raise Rejected("unauthorized", "secret token missing or wrong")
        if self.settings.ip_allowlist and not is_source_allowed(
            environ.get("REMOTE_ADDR"),
            environ.get("HTTP_X_FORWARDED_FOR"),
            self.allowed,
            self.proxies,
        ):
            raise Rejected("forbidden", "source address not allowed")
        if not is_json_content_type(environ.get("CONTENT_TYPE")):
            raise Rejected("unsupported_media_type", "Content-Type must be application/json")

    def ingest(self, environ: dict, bot: str) -> str:
        length = environ.get("CONTENT_LENGTH")
        declared = int(length) if length and length.isdigit() else None
        body = read_body(environ["wsgi.input"], declared, self.settings.max_body_bytes)
        _, info = parse_update(body, self.schema)
        update = IncomingUpdate(
            bot, info.update_id, info.type, info.chat_key, body, time.time(), info.conforms
        )
        if not self.store.record_update(update, forward=bool(self.settings.bots[bot].forward_url)):
            self.duplicates[bot].inc()
            return "duplicate"
        self.updates[bot, info.type].inc()
        if info.type == "unknown":
            return "unknown_type"
        if info.deviations:
            log.info("update %s of bot %s deviates from the spec: %s",
                     info.update_id, bot, "; ".join(info.deviations[:3]))  # fmt: skip
            return "schema_deviation"
        return "accepted"


def mount(webhook: WebhookApp, fallback: Callable) -> Callable:
    """A WSGI app sending /webhook/* to `webhook` and everything else to `fallback` (Flask)."""

    def dispatch(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(PREFIX):
            return webhook(environ, start_response)
        return fallback(environ, start_response)

    return dispatch
