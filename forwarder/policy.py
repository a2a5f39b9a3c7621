"""Retry policy, pure: backoff schedule, Retry-After, and the budget that makes a dead letter.

Nothing here does I/O or reads a clock; callers pass `now` and a jitter draw in [0, 1).
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass

FIRST_RETRY_SECONDS = 1.0
# A bot asking for more than this is misconfigured; the age budget still ends the update.
MAX_RETRY_AFTER_SECONDS = 3600.0


@dataclass(frozen=True)
class Budget:
    max_attempts: int
    max_age_seconds: float
    backoff_cap_seconds: float


@dataclass(frozen=True)
class Decision:
    dead: bool
    next_attempt_at: float | None = None  # when not dead


def backoff_seconds(failures: int, cap: float, jitter: float) -> float:
    """Wait after the `failures`-th failed attempt: 1, 2, 4 ... s up to `cap`, equal jitter.

    Half of the step is fixed and half random, so the first retry stays fast (0.5-1 s) while
    many chats failing together do not retry in lock-step.
    """
    step = min(cap, FIRST_RETRY_SECONDS * 2.0 ** min(max(failures, 1) - 1, 62))
    return step / 2 + step / 2 * min(max(jitter, 0.0), 1.0)


def after_failure(
    attempts: int,
    budget_from: float,
    now: float,
    budget: Budget,
    retry_after: float | None = None,
    jitter: float = 0.5,
    outage: bool = False,
) -> Decision:
    """Decide what follows a failed attempt; `attempts` includes the one that just failed.

    Dead once the attempts or the age budget are spent, whichever comes first; during an
    `outage` (the bot failing in every chat, see forwarder/outage.py) only the age counts. A
    retry is never scheduled past the age deadline: the last attempt happens at the deadline.
    """
    attempts_spent = attempts >= budget.max_attempts and not outage
    if attempts_spent or now - budget_from >= budget.max_age_seconds:
        return Decision(dead=True)
    delay = backoff_seconds(attempts, budget.backoff_cap_seconds, jitter)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    deadline = budget_from + budget.max_age_seconds
    return Decision(dead=False, next_attempt_at=min(now + delay, deadline))


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Retry-After as seconds to wait: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)
