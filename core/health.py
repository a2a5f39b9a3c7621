"""Health as data: the application/health+json document (draft-inadarei-api-health-check).

Pure: takes what the store said and `now`, returns the document. Only what loses updates is
`fail` (503): a store that cannot persist, and a polling bot's consumer gone for long while its
updates pile up (they expire after 24 h, as at Telegram). Everything else degrades to `warn` so
uptime checks page on what loses updates, and dashboards show the rest.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from core.delivery_errors import classify
from core.metrics import VERSION, Buckets
from core.storage import Observation, QueueStats

RANK = {"pass": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class Limits:
    queue_age_seconds: float
    backlog: int
    poll_interval_seconds: float
    forward_lag_seconds: float = 5.0  # as TgwebhookForwardLagHigh in alerts.yml
    # A polling consumer: Telegram warns at 200 pending and 30 s without a poll; a parked
    # getUpdates legitimately lasts up to 50 s, so "no poll" starts counting after 60 s.
    poll_quiet_seconds: float = 60.0
    poll_backlog: int = 200
    poll_gone_seconds: float = 600.0  # with poll_backlog pending: fail, as TgwebhookGetUpdatesStale


# Forward lag is judged over the last minute or so, not since start: an incident an hour ago
# must not keep /health warning.
LAG_WINDOW_SECONDS = 60.0


def check(
    status: str,
    component: str | None = None,
    value: Any = None,
    unit: str = "",
    output: str = "",
    now: float | None = None,
) -> dict:
    entry: dict[str, Any] = {"status": status}
    if component is not None:
        entry["componentId"] = component
    if value is not None:
        entry["observedValue"] = value
    if unit:
        entry["observedUnit"] = unit
    if output:
        entry["output"] = output
    if now is not None:
        entry["time"] = now
    return entry


def queue_checks(stats: list[QueueStats], limits: Limits) -> dict[str, list[dict]]:
    checks: dict[str, list[dict]] = {
        "queue:depth": [],
        "queue:oldestAge": [],
        "deadLetters:count": [],
    }
    for s in stats:
        old = "warn" if s.oldest_age_seconds > limits.queue_age_seconds else "pass"
        checks["queue:depth"].append(check("pass", s.bot, s.depth))
        checks["queue:oldestAge"].append(check(old, s.bot, round(s.oldest_age_seconds, 3), "s"))
        dead = "warn" if s.dead_letters else "pass"
        checks["deadLetters:count"].append(check(dead, s.bot, s.dead_letters))
    return checks


def telegram_checks(
    observations: dict[str, Observation | None],
    last_ok: dict[str, float | None],
    limits: Limits,
    now: float,
) -> dict[str, list[dict]]:
    """Per polled bot: poll freshness, Telegram's pending count and its last delivery error."""
    checks: dict[str, list[dict]] = {
        "poller:lastSuccessAge": [],
        "telegram:pendingUpdates": [],
        "telegram:lastError": [],
    }
    stale_after = 3 * limits.poll_interval_seconds
    for bot, obs in observations.items():
        ok_at = last_ok.get(bot)
        if ok_at is None:
            checks["poller:lastSuccessAge"].append(
                check("warn", bot, output="no successful poll yet")
            )
        else:
            age = max(0.0, now - ok_at)
            status = "warn" if age > stale_after else "pass"
            checks["poller:lastSuccessAge"].append(check(status, bot, round(age, 1), "s"))
        if obs is None or not obs.ok:
            continue
        pending = obs.pending_update_count or 0
        status = "warn" if pending >= limits.backlog else "pass"
        checks["telegram:pendingUpdates"].append(check(status, bot, pending))
        kind = classify(obs.last_error_message)
        recent = obs.last_error_date and now - obs.last_error_date < stale_after and pending > 0
        checks["telegram:lastError"].append(
            check(
                "warn" if recent else "pass",
                bot,
                kind,
                output=f"last_error_date={obs.last_error_date}",
            )
        )
    return {key: value for key, value in checks.items() if value}


def poll_checks(
    stats: list[QueueStats], polled_at: dict[str, float | None], limits: Limits, now: float
) -> dict[str, list[dict]]:
    """Per polling bot (the keys of `polled_at`): how long its updates waited without a poll.

    `stats` must count the polling bots' unconfirmed updates (queue_stats with `polling`)."""
    entries = [poll_check(s, polled_at[s.bot], limits, now) for s in stats if s.bot in polled_at]
    return {"getUpdates:lastPollAge": entries} if entries else {}


def poll_check(stats: QueueStats, polled_at: float | None, limits: Limits, now: float) -> dict:
    pending = stats.depth
    since = None if polled_at is None else max(0.0, now - polled_at)
    # Updates younger than the last poll have not waited for one: the wait is the shorter.
    waited = stats.oldest_age_seconds if since is None else min(since, stats.oldest_age_seconds)
    status = "pass"
    if pending >= limits.poll_backlog or (pending and waited > limits.poll_quiet_seconds):
        status = "warn"
    if pending >= limits.poll_backlog and waited > limits.poll_gone_seconds:
        status = "fail"
    output = f"{pending} pending" + ("" if since is not None else ", never polled")
    value = None if since is None else round(since, 1)
    return check(status, stats.bot, value, "s" if value is not None else "", output)


@dataclass(frozen=True)
class LagSample:
    at: float
    buckets: dict[str, Buckets]  # cumulative, per bot, as core.metrics.forward_lag_buckets()


class LagWindow:
    """Remembers the cumulative lag buckets seen at each /health call (one per process), so the
    p99 covers about the last LAG_WINDOW_SECONDS (or since the window was made, when younger)."""

    def __init__(
        self, start: dict[str, Buckets], now: float, seconds: float = LAG_WINDOW_SECONDS
    ) -> None:
        self.seconds = seconds
        self.samples: deque[LagSample] = deque([LagSample(now, start)])

    def observe(self, buckets: dict[str, Buckets], now: float) -> tuple[LagSample, LagSample]:
        """(the baseline, now): the newest sample at least `seconds` old, else the oldest."""
        if len(self.samples) > 2 and now - self.samples[-2].at < 1.0:
            self.samples.pop()  # at most about one sample a second, however often it is asked
        self.samples.append(LagSample(now, buckets))
        while len(self.samples) > 2 and self.samples[1].at <= now - self.seconds:
            self.samples.popleft()
        return self.samples[0], self.samples[-1]


def quantile(q: float, buckets: Buckets) -> float | None:
    """Prometheus's histogram_quantile over cumulative (le, count) pairs; None when empty."""
    total = buckets[-1][1] if buckets else 0
    if total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if math.isinf(upper):
                return lower  # beyond the last finite bucket: its bound is all we know
            return lower + (upper - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = upper, count
    return lower


def window_buckets(before: Buckets, after: Buckets) -> Buckets:
    old = dict(before)
    return tuple((le, count - old.get(le, 0.0)) for le, count in after)


def lag_checks(window: tuple[LagSample, LagSample], limits: Limits) -> dict[str, list[dict]]:
    """Per bot: p99 of ack-to-bot-2xx over the window; nothing delivered in it is a pass."""
    before, after = window
    span = (
        f"the last {after.at - before.at:.0f} s" if after.at - before.at >= 1 else "the last second"
    )
    entries = []
    for bot, buckets in sorted(after.buckets.items()):
        recent = window_buckets(before.buckets.get(bot, ()), buckets)
        p99 = quantile(0.99, recent)
        delivered = int(recent[-1][1]) if recent else 0
        if p99 is None:
            entries.append(check("pass", bot, output=f"nothing delivered in {span}"))
            continue
        status = "warn" if p99 > limits.forward_lag_seconds else "pass"
        output = f"p99 over {span}, {delivered} delivered"
        entries.append(check(status, bot, round(p99, 4), "s", output))
    return {"forwarder:lagP99": entries} if entries else {}


def assemble(store_error: str | None, checks: dict[str, list[dict]], now: float) -> dict:
    store = check("fail", output=store_error, now=now) if store_error else check("pass", now=now)
    all_checks = {"store:writable": [store], **checks}
    worst = max((RANK[c["status"]] for entries in all_checks.values() for c in entries), default=0)
    status = next(name for name, rank in RANK.items() if rank == worst)
    return {"status": status, "version": VERSION, "serviceId": "tgwebhook", "checks": all_checks}
