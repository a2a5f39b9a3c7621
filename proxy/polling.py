"""getUpdates rules of the official Bot API server (tdlib/telegram-bot-api Client.cpp), pure:
clamping, the anti-busy-loop, offsets, allowed_updates. See docs/proxy.md for sources."""

from __future__ import annotations

import json
from dataclasses import dataclass

from proxy.params import Params

MAX_LIMIT = 100
MAX_TIMEOUT = 50  # LONG_POLL_MAX_TIMEOUT
FUTURE_SLACK = 10  # an offset past the newest id + 10 is "in the future": read, forget nothing
PAST_SLACK = 2_000_000
# Telegram's default when allowed_updates is empty or names nothing it knows.
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass(frozen=True)
class PollRequest:
    offset: int
    limit: int
    timeout: int
    allowed: tuple[str, ...] | None  # None: keep the stored setting


@dataclass(frozen=True)
class Previous:
    """The bot's last getUpdates in this process, for the anti-busy-loop."""

    offset: int
    at: float


def poll_request(params: Params, known: tuple[str, ...]) -> PollRequest:
    """Telegram clamps instead of rejecting: limit 1..100 (default 100), timeout 0..50."""
    return PollRequest(
        offset=params.integer("offset"),
        limit=min(max(params.integer("limit", MAX_LIMIT), 1), MAX_LIMIT),
        timeout=min(max(params.integer("timeout"), 0), MAX_TIMEOUT),
        allowed=allowed_kinds(params.values.get("allowed_updates"), known),
    )


def throttled(request: PollRequest, previous: Previous | None, now: float) -> PollRequest:
    """The same offset again within 3 s waits at least 3 s; within 0.5 s gets one update."""
    if previous is None or previous.offset != request.offset:
        return request
    timeout, limit = request.timeout, request.limit
    if now - previous.at < 3 and timeout < 3:
        timeout = 3
    if now - previous.at < 0.5:
        limit = 1
    return PollRequest(request.offset, limit, timeout, request.allowed)


def allowed_kinds(raw: str | None, known: tuple[str, ...]) -> tuple[str, ...] | None:
    """Unparseable or not an array: None (keep the setting). Names are case-insensitive; empty
    or only unknown names mean Telegram's default set."""
    if raw is None:
        return None
    try:
        names = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(names, list):
        return None
    by_lower = {kind.lower(): kind for kind in known}
    kinds = {by_lower[n.lower()] for n in names if isinstance(n, str) and n.lower() in by_lower}
    if not kinds:
        kinds = set(known) - NOT_BY_DEFAULT
    return tuple(kind for kind in known if kind in kinds)


def offset_is_sane(offset: int, newest: int | None) -> bool:
    """An offset far beyond the newest update (or far behind it) is ignored: the server reads
    from the head and forgets nothing."""
    tail = (newest or 0) + 1
    return tail - PAST_SLACK <= offset <= tail + FUTURE_SLACK


def result_json(bodies: list[tuple[int, bytes]]) -> bytes:
    """The result array, ordered by update_id: one chat's ids rise, so its order holds, and
    the bot's next offset (last id + 1) covers the whole batch."""
    return b"[" + b",".join(body for _, body in sorted(bodies)) + b"]"
