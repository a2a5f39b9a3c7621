"""Flood shaping of outbound Bot API calls: which keys a call uses and when it may go (GCRA),
and the accounting of those calls (`count_call`).

Telegram asks for about 1 message per second per private chat, 20 per minute per group or
channel and 30 per second overall, tolerating short bursts; over them it answers 429 with
`retry_after`, per method and chat (a sendContact penalty does not hold sendMessage, telegraf
#1046). Each rate key keeps one number, its theoretical arrival time (GCRA): a call may go at
`tat - tolerance`, and going pushes `tat` one interval later. A 429 blocks only the key of
that method in that chat until its retry_after has passed.

Pure: callers pass the keys' state and `now` and store what `decide` returns
(core/storage/flood.py, shared by every process that calls Telegram for the bot).
Used by the proxy (proxy/shaper.py) and the forwarder's webhook replies (`wait_turn`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING, Any

from core import metrics
from core.updates import SPEC_PATH

if TYPE_CHECKING:
    from core.storage import FloodStore

log = logging.getLogger(__name__)
SEND_PREFIXES = ("send", "forward", "copy")
NOT_MESSAGES = frozenset({"sendchataction"})  # not counted by Telegram as a message
SHAPED_CLASSES = ("send", "edit")  # the classes with per-chat rates; others only blocks
GLOBAL = "global"
# Bursts in calls, below what Telegram is seen to tolerate (the simulator's model: 3, 20, 30)
# so calls reordered on their way there still fit.
PRIVATE_BURST = 2
GROUP_BURST = 3
GLOBAL_BURST = 10


def limit(help: str, default: Any, low: float | None = None) -> Any:
    """A declared setting: the metadata core/settings_table.py's `setting` gives a field.
    Declared here (Settings derives from FloodSettings) to keep the table module small."""
    check = None if low is None else (lambda v: None if v >= low else f"must be >= {low}")
    meta = {"help": help, "secret": False, "check": check, "env": ""}
    return field(default=default, metadata=meta)


@dataclass(frozen=True, kw_only=True)
class FloodSettings:
    flood_shaping: bool = limit("Shape outbound Bot API calls (proxy, webhook replies)", True)
    flood_private_per_second: float = limit("Messages per second to one private chat", 1.0, 0.001)
    flood_group_per_minute: float = limit("Messages per minute to one group/channel", 20.0, 0.01)
    flood_global_per_second: float = limit("Messages per second to all chats", 30.0, 0.01)
    flood_max_wait_seconds: float = limit(
        "Longest hold before the proxy answers 429 itself (with the remaining retry_after)", 10.0, 0
    )


@dataclass(frozen=True)
class FloodKey:
    """`interval` seconds per call and `tolerance` of burst (0, 0: a key that only blocks)."""

    name: str
    interval: float = 0.0
    tolerance: float = 0.0


@dataclass(frozen=True)
class KeyState:
    tat: float = 0.0
    blocked_until: float = 0.0


@dataclass(frozen=True)
class Decision:
    """`wait` seconds before sending, or `refused_retry_after` (whole seconds) past the bound;
    `tats` are the keys' new arrival times, to store only when admitted; `later` are keys to
    reserve again once the wait is over (the global key of a call its chat holds back)."""

    wait: float = 0.0
    refused_retry_after: int | None = None
    tats: tuple[tuple[str, float], ...] = ()
    later: tuple[FloodKey, ...] = ()

    @property
    def admitted(self) -> bool:
        return self.refused_retry_after is None


def method_class(method: str) -> str:
    name = method.lower()
    if name.startswith(SEND_PREFIXES) and name not in NOT_MESSAGES:
        return "send"
    if name.startswith("edit"):
        return "edit"
    return name


def chat_of(chat_id: Any) -> str | None:
    """The chat as text ("42", "-100123", "@channel"); None when the call names none."""
    text = str(chat_id).strip() if chat_id is not None else ""
    return text or None


def keys_of(settings: FloodSettings, method: str, chat_id: Any) -> tuple[FloodKey, ...]:
    """The call's keys: its block key (method and chat) first, then its rate keys."""
    chat = chat_of(chat_id)
    name, kind = method.lower(), method_class(method)
    if chat is None:
        return (FloodKey(name),)
    overall = rate_key(GLOBAL, 1 / settings.flood_global_per_second, GLOBAL_BURST)
    if kind not in SHAPED_CLASSES:
        return FloodKey(f"{name}:{chat}"), overall
    if chat.isdigit():  # users have positive ids; groups and channels negative ones or @names
        per_chat = rate_key(f"{kind}:{chat}", 1 / settings.flood_private_per_second, PRIVATE_BURST)
    else:
        per_chat = rate_key(f"{kind}:{chat}", 60 / settings.flood_group_per_minute, GROUP_BURST)
    return FloodKey(f"{name}:{chat}"), overall, per_chat


def rate_key(name: str, interval: float, burst: int) -> FloodKey:
    return FloodKey(name, interval, (burst - 1) * interval)


def decide(
    keys: tuple[FloodKey, ...], states: Mapping[str, KeyState], now: float, max_wait: float
) -> Decision:
    """When the call may go: after every key's block and at every rate key's conformance time;
    refused (nothing stored) when that is more than `max_wait` away.

    Keys are weighed in stages (blocks, the chat's rate, the global rate); a stage that holds
    the call back leaves the later stages' slots to be booked when the wait is over (`later`):
    booked at a far start, one arrival time would hold the chat's other methods, or every other
    chat, behind this call."""
    taken: tuple[FloodKey, ...] = ()
    later: tuple[FloodKey, ...] = ()
    start = now
    stages = stages_of(keys)
    for index, stage in enumerate(stages):
        taken += stage
        start = start_of(taken, states, now)
        if start > now:
            later = tuple(key for rest in stages[index + 1 :] for key in rest)
            break
    wait = start - now
    if wait > max_wait:
        return Decision(wait, max(1, math.ceil(wait)))
    tats = tuple(
        (key.name, max(states.get(key.name, KeyState()).tat, start) + key.interval)
        for key in taken
        if key.interval
    )
    return Decision(wait, None, tats, later)


def stages_of(keys: tuple[FloodKey, ...]) -> tuple[tuple[FloodKey, ...], ...]:
    blocks = tuple(key for key in keys if not key.interval)
    chats = tuple(key for key in keys if key.interval and key.name != GLOBAL)
    overall = tuple(key for key in keys if key.name == GLOBAL)
    return tuple(stage for stage in (blocks, chats, overall) if stage)


def start_of(keys: tuple[FloodKey, ...], states: Mapping[str, KeyState], now: float) -> float:
    start = now
    for key in keys:
        state = states.get(key.name, KeyState())
        start = max(start, state.blocked_until)
        if key.interval:
            start = max(start, state.tat - key.tolerance)
    return start


def block_key(keys: tuple[FloodKey, ...]) -> str:
    """The key a 429 for this call blocks: its method in its chat (or the method alone)."""
    return keys[0].name


async def wait_turn(
    store: FloodStore,
    bot: str,
    keys: tuple[FloodKey, ...],
    max_wait: float,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Decision:
    """The shell both callers share (the proxy, the forwarder's replies): reserve, sleep the
    wait (never holding a thread), reserve what was left for later; the last decision, with
    the whole wait. A store error propagates: each caller decides to go unshaped."""
    started, held = clock(), False
    decision = Decision(later=keys)
    while decision.admitted and decision.later:
        left = max_wait - (clock() - started)
        decision = await asyncio.to_thread(store.reserve_send, bot, decision.later, clock(), left)
        if decision.admitted and decision.wait > 0:
            held = True
            await sleep(decision.wait)
    if not decision.admitted:
        return decision
    waited = clock() - started
    if held:  # calls that went at once are not "held"
        metrics.BOTAPI_SHAPING_DELAY.labels(bot).observe(waited)
    return replace(decision, wait=waited)


async def shape_call(
    store: FloodStore, settings: FloodSettings, bot: str, method: str, chat_id: Any
) -> int | None:
    """Wait for a webhook reply's turn; None when it may go now, the retry_after when it would
    wait past the bound. A failing store shapes nothing."""
    from core.storage import StoreError  # core.storage imports this module

    if not settings.flood_shaping:
        return None
    keys = keys_of(settings, method, chat_id)
    try:
        decision = await wait_turn(store, bot, keys, settings.flood_max_wait_seconds)
    except StoreError as exc:
        log.warning("flood state unavailable, %s not shaped: %s", method, exc)
        return None
    return decision.refused_retry_after


def note_flood(
    store: FloodStore,
    settings: FloodSettings,
    bot: str,
    method: str,
    chat_id: Any,
    retry_after: float,
) -> None:
    """Telegram answered 429: the method in that chat waits `retry_after` in every process."""
    from core.storage import StoreError

    metrics.BOTAPI_FLOOD_WAIT.labels(bot).observe(retry_after)
    if not settings.flood_shaping:
        return
    try:
        key = block_key(keys_of(settings, method, chat_id))
        store.record_flood(bot, key, time.time() + retry_after)
    except StoreError as exc:
        log.warning("could not record a 429 of %s: %s", method, exc)


@cache
def method_names() -> dict[str, str]:
    """Lower-cased method name -> the spec's spelling (metric labels are bounded by it)."""
    names = json.loads(SPEC_PATH.read_text(encoding="utf-8"))["methods"]
    return {name.lower(): name for name in names}


def outcome_of(status: int | None) -> str:
    """A call's outcome (core.metrics.BOTAPI_OUTCOMES) from Telegram's status; None: no answer."""
    if status is None:
        return "failed"
    if status == 429:
        return "flood_wait"
    return "ok" if 200 <= status < 300 else "error"


def count_call(bot: str, method: str, outcome: str, started: float) -> None:
    """One Bot API call of the bot's (proxied or a webhook reply) is over; `started` is its
    time.monotonic() on arrival, so the duration includes any shaping wait."""
    label = method_names().get(method.lower(), "other")
    metrics.BOTAPI_REQUESTS.labels(bot, label, outcome).inc()
    metrics.BOTAPI_DURATION.labels(bot, label).observe(time.monotonic() - started)
