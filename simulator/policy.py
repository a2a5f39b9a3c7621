"""Telegram's webhook delivery policy as pure functions: retry schedule, expiry, queue keys.

Everything here mirrors tdlib/telegram-bot-api (WebhookActor.cpp, Client.cpp), the server that
api.telegram.org runs. Times are in Telegram seconds; callers scale them by `time_factor`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Backoff cap: Telegram picks a random cap in [60, 120] s on every failure.
MAX_RESEND_TIMEOUT = 60
MAX_RETRY_AFTER = 3600
DAY = 86400

# Update types in Telegram's internal enum order (this is also the order getWebhookInfo
# lists allowed_updates in).
UPDATE_TYPES: tuple[str, ...] = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "custom_event",
    "custom_query",
    "shipping_query",
    "pre_checkout_query",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
    "message_reaction",
    "message_reaction_count",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "purchased_paid_media",
    "managed_bot",
    "guest_message",
)
# Telegram does not send these unless allowed_updates names them explicitly.
OPT_IN_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
DEFAULT_ALLOWED = frozenset(UPDATE_TYPES) - OPT_IN_TYPES

MESSAGE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_message",
        "edited_business_message",
        "guest_message",
    }
)
# Time to live of non-message updates (add_update calls in Client.cpp).
TTL_SECONDS: Mapping[str, int] = {
    "inline_query": 30,
    "callback_query": 150,
    "shipping_query": 150,
    "pre_checkout_query": 150,
    "chosen_inline_result": 600,
    "custom_event": 600,
}
# Which field identifies the per-queue key of a type, and the namespace Telegram puts it in
# (it shifts the id by a type tag so e.g. a user's inline queries and callbacks are separate).
_QUEUE_BY_USER = {
    "inline_query": "inline",
    "chosen_inline_result": "chosen",
    "callback_query": "callback",
    "shipping_query": "shipping",
    "pre_checkout_query": "checkout",
    "purchased_paid_media": "paid_media",
    "managed_bot": "managed_bot",
    "chat_join_request": "member",
}
_QUEUE_BY_CHAT = {
    "my_chat_member": "my_member",
    "chat_boost": "boost",
    "removed_chat_boost": "boost",
    "message_reaction": "reaction",
    "message_reaction_count": "reaction_count",
    "deleted_business_messages": "business_deleted",
}


def next_retry(fail_count: int, delay: int, retry_after: int, cap: int) -> tuple[int, int]:
    """Return (seconds until the next attempt, new backoff base) after a failed attempt.

    First failure: retry at once. Later failures double the base (1 -> 2, 4, 8 ...) up to `cap`.
    A Retry-After answer replaces the wait without growing the base.
    """
    retry_after = min(max(retry_after, 0), MAX_RETRY_AFTER)
    if retry_after == 0 and fail_count > 0:
        grown = min(cap, delay * 2)
        return grown, grown
    return retry_after, delay


def retry_schedule(failures: int, cap: int = MAX_RESEND_TIMEOUT) -> list[int]:
    """Waits before each retry for `failures` consecutive failures without Retry-After."""
    waits: list[int] = []
    delay = 1
    for fail_count in range(failures):
        wait, delay = next_retry(fail_count, delay, 0, cap)
        waits.append(wait)
    return waits


def is_expired(now: float, wait: float, expires_at: float) -> bool:
    """Telegram drops an update when the next attempt would start after it expires."""
    return now + wait > expires_at


def update_type(update: Mapping[str, Any]) -> str:
    """The update's type: its one key besides update_id ("unknown" if none)."""
    for key in update:
        if key != "update_id":
            return key
    return "unknown"


def ttl_seconds(kind: str, body: Mapping[str, Any], now_unix: int) -> int:
    """Seconds an update of `kind` may wait; messages live 24 h from their (edit) date."""
    if kind in MESSAGE_TYPES:
        date = body.get("edit_date") or body.get("date") or now_unix
        return int(date) + DAY - now_unix
    return TTL_SECONDS.get(kind, DAY)


def queue_key(kind: str, body: Mapping[str, Any]) -> str | None:
    """Key of the delivery queue an update joins (one in flight per key), None for its own."""
    if kind in MESSAGE_TYPES:
        return _chat_key("chat", body)
    if kind in _QUEUE_BY_CHAT:
        return _chat_key(_QUEUE_BY_CHAT[kind], body)
    if kind in _QUEUE_BY_USER:
        user = body.get("from") or {}
        return f"{_QUEUE_BY_USER[kind]}:{user['id']}" if "id" in user else None
    if kind == "chat_member":
        # Telegram queues other users' membership changes by that user's id.
        user = (body.get("new_chat_member") or {}).get("user") or {}
        return f"member:{user['id']}" if "id" in user else None
    if kind == "poll":
        return f"poll:{body['id']}" if "id" in body else None
    if kind == "poll_answer":
        return f"poll:{body['poll_id']}" if "poll_id" in body else None
    return None


def _chat_key(prefix: str, body: Mapping[str, Any]) -> str | None:
    chat = body.get("chat") or {}
    return f"{prefix}:{chat['id']}" if "id" in chat else None


def normalize_allowed_updates(names: object) -> frozenset[str] | None:
    """Telegram's reading of allowed_updates: None = leave unchanged; no known name = default."""
    if not isinstance(names, list) or not names:
        return None
    if not all(isinstance(name, str) for name in names):
        return None
    known = frozenset(name.lower() for name in names) & frozenset(UPDATE_TYPES)
    return known or DEFAULT_ALLOWED


def allowed_list(allowed: frozenset[str]) -> list[str]:
    """allowed_updates as getWebhookInfo lists it (enum order)."""
    return [name for name in UPDATE_TYPES if name in allowed]


def is_allowed(kind: str, allowed: frozenset[str]) -> bool:
    """Types Telegram does not know (newer than this table) are never filtered."""
    return kind not in UPDATE_TYPES or kind in allowed
