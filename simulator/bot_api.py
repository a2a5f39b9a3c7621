"""One Bot API call end to end: record it, apply revocation and faults, run the method."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from simulator import methods
from simulator.envelope import ApiError, error_body, ok_body, too_many_requests
from simulator.params import Params
from simulator.state import Bot, Registry

log = logging.getLogger(__name__)

# Telegram ignores these when a webhook answer asks for them (WebhookActor::handle).
_NOT_FROM_WEBHOOK = ("deletewebhook", "setwebhook", "close", "logout")


@dataclass
class Outcome:
    """How to answer the HTTP request: a JSON envelope, a raw body, or a dropped connection."""

    status: int
    body: dict[str, Any] | None = None
    raw_body: str | None = None
    disconnect: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    flood: str | None = None  # why the flood model answered 429, if it did


async def run_call(
    registry: Registry, bot: Bot, method: str, params: Params, source: str = "http"
) -> Outcome:
    # Recorded before faults and errors apply: tests see every call the bot attempted.
    entry = bot.record_call(methods.canonical_name(method), params.values, source)
    if params.files:  # what arrived, so a test can tell the very bytes were passed on
        entry["files"] = {
            name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in params.files.items()
        }
    outcome = await _answer(registry, bot, method, params)
    entry["ok"] = bool(outcome.body and outcome.body.get("ok"))
    if not entry["ok"]:
        entry["error_code"] = outcome.status
    if outcome.body and not outcome.body.get("ok"):
        entry["description"] = outcome.body.get("description")
        retry_after = (outcome.body.get("parameters") or {}).get("retry_after")
        if retry_after is not None:
            entry["retry_after"] = retry_after
    if outcome.flood is not None:
        entry["flood"] = outcome.flood
    return outcome


async def _answer(registry: Registry, bot: Bot, method: str, params: Params) -> Outcome:
    if bot.revoked:
        return Outcome(401, error_body(401, "Unauthorized"))
    effect = registry.faults.take(bot.token, method)
    if effect.delay:
        await asyncio.sleep(effect.delay)
    if effect.disconnect:
        return Outcome(0, disconnect=True)
    if effect.raw_body is not None:
        status = effect.error.error_code if effect.error else 502
        return Outcome(status, raw_body=effect.raw_body)
    if effect.error is not None:
        return Outcome(effect.error.error_code, effect.error.body())
    refusal = bot.flood.check(method, params.values.get("chat_id"), time.monotonic())
    if refusal is not None:
        body = too_many_requests(refusal.retry_after).body()
        headers = {"Retry-After": str(refusal.retry_after)}
        return Outcome(429, body, headers=headers, flood=refusal.reason)
    try:
        result, description = await methods.dispatch(registry.config, bot, method, params)
    except ApiError as exc:
        return Outcome(exc.error_code, exc.body())
    return Outcome(200, ok_body(result, description))


async def run_webhook_reply(registry: Registry, bot: Bot, call: dict[str, Any]) -> None:
    """Execute a method returned as a webhook answer, as Telegram does; its result is dropped."""
    method = str(call.get("method", ""))
    lowered = method.lower()
    if lowered in _NOT_FROM_WEBHOOK or lowered.startswith("get"):
        bot.record_call(methods.canonical_name(method), _args(call), "webhook_reply_ignored")
        return
    try:
        await run_call(registry, bot, method, Params(_args(call)), source="webhook_reply")
    except Exception:  # a broken reply must never stop delivery
        log.exception("webhook reply %s failed", method)


def _args(call: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in call.items() if key != "method"}
