"""Telegram's flood limits for sends: per-chat and overall rates, per-(method, chat) penalties.

Telegram does not publish exact limits; its Bot FAQ asks for at most about one message per second
per chat, 20 per minute per group or channel and 30 per second overall, tolerating short bursts.
A call over a limit gets 429 `retry after N`, and until then the same method in the same chat keeps
getting 429 (a sendContact penalty does not block sendMessage: telegraf #1046).

Rates are token buckets (a burst of `*_burst` calls, refilled at the rate), so any sender that
keeps every sliding window of `burst` calls within the rate is never refused. Off unless enabled
per bot, so existing tests are unchanged; forced floods apply whether or not it is enabled. Pure:
every decision takes `now` (monotonic seconds), so tests need no clock. Times are real seconds,
not scaled by time_factor: the client waits the retry_after it reads.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

# Chat actions and reads are not messages; editing is limited separately by Telegram.
_COUNTED_PREFIXES = ("send", "forward", "copy")
_NOT_COUNTED = frozenset({"sendchataction"})


@dataclass(frozen=True)
class FloodLimits:
    enabled: bool = False
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: float = 20.0
    group_burst: int = 20
    global_per_second: float = 30.0
    global_burst: int = 30


@dataclass(frozen=True)
class Refusal:
    """Why a call is answered 429, and the whole seconds the client must wait."""

    retry_after: int
    reason: str  # "private", "group", "global", "penalty" or "forced"


@dataclass
class ForcedFlood:
    chat: str
    method: str | None  # lowercased; None: any counted method
    retry_after: int
    times: int


@dataclass
class Bucket:
    rate: float  # tokens per second
    burst: int
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        self.updated = now

    def wait(self) -> float:
        """Seconds until one token is available (0 if one is)."""
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


def is_counted(method: str) -> bool:
    lowered = method.lower()
    return lowered.startswith(_COUNTED_PREFIXES) and lowered not in _NOT_COUNTED


def chat_key(chat_id: Any) -> str | None:
    """The chat as text ("42", "-100123", "@channel"); None when the call names none."""
    text = str(chat_id).strip() if chat_id is not None else ""
    return text or None


def is_private(chat: str) -> bool:
    # Users have positive ids; groups, supergroups and channels negative ones or @usernames.
    return chat.isdigit()


def early_sends(calls: list[dict[str, Any]], slack: float = 0.0) -> list[dict[str, Any]]:
    """Recorded calls that arrived before a retry_after the same (method, chat) was given:
    a client honouring Telegram's 429 leaves this empty. `slack`: seconds of clock tolerance."""
    allowed_at: dict[tuple[str, str], float] = {}
    early = []
    for call in sorted(calls, key=lambda c: c["time"]):
        chat = chat_key(call.get("params", {}).get("chat_id"))
        if chat is None or not is_counted(call["method"]):
            continue
        key = (call["method"].lower(), chat)
        if call["time"] + slack < allowed_at.get(key, 0.0):
            early.append(call)
        if call.get("error_code") == 429 and call.get("retry_after"):
            allowed_at[key] = max(allowed_at.get(key, 0.0), call["time"] + call["retry_after"])
    return early


def parse_limits(spec: dict[str, Any], current: FloodLimits) -> FloodLimits:
    """Apply an admin spec (FloodLimits fields) over the current limits; ValueError (or
    TypeError) with a readable reason."""
    known = {f.name for f in fields(FloodLimits)}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"unknown flood fields: {sorted(unknown)}")
    typed: dict[str, Any] = {}
    for name, value in spec.items():
        kind = type(getattr(current, name))
        typed[name] = bool(value) if kind is bool else kind(value)
        if kind is not bool and not typed[name] > 0:
            raise ValueError(f"{name} must be > 0")
    return replace(current, **typed)


@dataclass
class FloodModel:
    """One bot's flood state: buckets, penalties, forced floods and counters."""

    limits: FloodLimits = field(default_factory=FloodLimits)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    penalties: dict[tuple[str, str], float] = field(default_factory=dict)  # key -> until
    forced: list[ForcedFlood] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # reason -> 429s given
    refused_by_chat: Counter[str] = field(default_factory=Counter)
    passed: int = 0

    def configure(self, limits: FloodLimits) -> None:
        self.limits = limits
        self.buckets.clear()  # new rates start with full buckets

    def force(self, chat_id: Any, method: str | None, retry_after: int, times: int = 1) -> None:
        """The next `times` counted calls for the chat (and method) get 429 `retry_after`."""
        chat = chat_key(chat_id)
        if chat is None:
            raise ValueError("chat_id is required")
        if retry_after < 1 or times < 1:
            raise ValueError("retry_after and times must be >= 1")
        lowered = method.lower() if method else None
        self.forced.append(ForcedFlood(chat, lowered, retry_after, times))

    def check(self, method: str, chat_id: Any, now: float) -> Refusal | None:
        """Decide one call: None lets it through (and counts it), a Refusal answers 429."""
        chat = chat_key(chat_id)
        if not is_counted(method) or chat is None:
            return None
        key = (method.lower(), chat)
        refusal = self._penalty(key, now) or self._forced(key) or self._over_rate(chat, now)
        if refusal is None:
            self.passed += 1
            return None
        if refusal.reason != "penalty":
            self.penalties[key] = now + refusal.retry_after
        self.refused[refusal.reason] += 1
        self.refused_by_chat[chat] += 1
        return refusal

    def _penalty(self, key: tuple[str, str], now: float) -> Refusal | None:
        until = self.penalties.get(key)
        if until is None:
            return None
        if now >= until:
            del self.penalties[key]
            return None
        return Refusal(max(1, math.ceil(until - now)), "penalty")

    def _forced(self, key: tuple[str, str]) -> Refusal | None:
        method, chat = key
        for flood in self.forced:
            if flood.chat == chat and flood.method in (None, method):
                flood.times -= 1
                if flood.times <= 0:
                    self.forced.remove(flood)
                return Refusal(flood.retry_after, "forced")
        return None

    def _over_rate(self, chat: str, now: float) -> Refusal | None:
        if not self.limits.enabled:
            return None
        buckets = [("global", self._bucket("global", now)), self._chat_bucket(chat, now)]
        waits = [(bucket.wait(), reason) for reason, bucket in buckets]
        wait, reason = max(waits)
        if wait > 0:
            return Refusal(max(1, math.ceil(wait)), reason)
        for _, bucket in buckets:
            bucket.tokens -= 1.0
        return None

    def _chat_bucket(self, chat: str, now: float) -> tuple[str, Bucket]:
        if is_private(chat):
            return "private", self._bucket(f"chat:{chat}", now)
        return "group", self._bucket(f"chat:{chat}", now, group=True)

    def _bucket(self, name: str, now: float, group: bool = False) -> Bucket:
        bucket = self.buckets.get(name)
        if bucket is None:
            bucket = Bucket(*self._rate(name, group), updated=now)
            self.buckets[name] = bucket
        bucket.refill(now)
        return bucket

    def _rate(self, name: str, group: bool) -> tuple[float, int, float]:
        lim = self.limits
        if name == "global":
            rate, burst = lim.global_per_second, lim.global_burst
        elif group:
            rate, burst = lim.group_per_minute / 60.0, lim.group_burst
        else:
            rate, burst = lim.private_per_second, lim.private_burst
        return rate, burst, float(burst)

    def view(self, now: float) -> dict[str, Any]:
        """The admin view: limits, counters, live penalties (seconds left) and forced floods."""
        return {
            "limits": asdict(self.limits),
            "passed": self.passed,
            "answered_429": sum(self.refused.values()),
            "by_reason": dict(self.refused),
            "by_chat": dict(self.refused_by_chat),
            "penalties": [
                {"method": method, "chat_id": chat, "seconds_left": round(until - now, 3)}
                for (method, chat), until in self.penalties.items()
                if until > now
            ],
            "forced": [asdict(flood) for flood in self.forced],
        }

    def clear(self) -> None:
        """Forget penalties, forced floods, counters and bucket levels; keep the limits."""
        self.buckets.clear()
        self.penalties.clear()
        self.forced.clear()
        self.refused.clear()
        self.refused_by_chat.clear()
        self.passed = 0
