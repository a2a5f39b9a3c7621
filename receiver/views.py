"""HTTP edge for Telegram updates; owns status-code policy (receiver/policy.py); no SQL, no
outbound calls. Every update acknowledged with 2xx has been persisted first."""

from __future__ import annotations

import json
import logging
import time

from flask import Blueprint, Response, request

from core import metrics
from core.config import Settings
from core.storage import IncomingUpdate, StoreError
from core.updates import Schema
from receiver.parsing import Rejected, is_json_content_type, parse_update, read_body
from receiver.policy import status_for
from receiver.security import SECRET_HEADER, is_secret_valid, is_source_allowed, parse_networks

log = logging.getLogger(__name__)


def answer(ok: bool, error: str = "") -> Response:
    body = b'{"ok":true}' if ok else json.dumps({"ok": False, "error": error}).encode()
    return Response(body, mimetype="application/json")


def make_blueprint(store, settings: Settings, schema: Schema) -> Blueprint:
    blueprint = Blueprint("receiver", __name__)
    allowed = parse_networks(settings.allowed_networks)
    proxies = parse_networks(settings.trusted_proxies)

    def check(bot: str) -> None:
        config = settings.bots[bot]
        # Telegram sends the secret given to setWebhook on every call; anything else is not Telegram.
        if not is_secret_valid(config.secret_token, request.headers.get(SECRET_HEADER)):
            raise Rejected("unauthorized", "secret token missing or wrong")
        forwarded = request.headers.get("X-Forwarded-For")
        if settings.ip_allowlist and not is_source_allowed(
            request.remote_addr, forwarded, allowed, proxies
        ):
            raise Rejected("forbidden", "source address not allowed")
        if not is_json_content_type(request.headers.get("Content-Type")):
            raise Rejected("unsupported_media_type", "Content-Type must be application/json")

    def ingest(bot: str) -> str:
        body = read_body(request.stream, request.content_length, settings.max_body_bytes)
        _, info = parse_update(body, schema)
        update = IncomingUpdate(
            bot, info.update_id, info.type, info.chat_key, body, time.time(), info.conforms
        )
        if not store.record_update(update, forward=bool(settings.bots[bot].forward_url)):
            metrics.DUPLICATES.labels(bot).inc()
            return "duplicate"
        metrics.UPDATES.labels(bot, info.type).inc()
        if info.type == "unknown":
            return "unknown_type"
        if info.deviations:
            log.info("update %s of bot %s deviates from the spec: %s",
                     info.update_id, bot, "; ".join(info.deviations[:3]))  # fmt: skip
            return "schema_deviation"
        return "accepted"

    @blueprint.post("/webhook/<bot>")
    def webhook(bot: str) -> Response | tuple[Response, int]:
        if bot not in settings.bots:
            return answer(False, "unknown bot"), 404
        started = time.perf_counter()
        try:
            check(bot)
            outcome = ingest(bot)
            response = answer(True)
        except Rejected as exc:
            outcome, response = exc.outcome, answer(False, exc.message)
            log.info("rejected update for bot %s: %s", bot, exc.message)
        except StoreError as exc:
            # Telegram retries a non-2xx later; Retry-After tells proxies and humans when.
            outcome, response = "store_failed", answer(False, "store unavailable")
            response.headers["Retry-After"] = str(settings.retry_after_seconds)
            metrics.STORE_FAILURES.labels(bot).inc()
            log.error("store failed, answered 503 for bot %s: %s", bot, exc)
        metrics.REQUESTS.labels(bot, outcome).inc()
        metrics.REQUEST_DURATION.labels(bot).observe(time.perf_counter() - started)
        return response, status_for(outcome)

    return blueprint
