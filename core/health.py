"""Health as data: the application/health+json document (draft-inadarei-api-health-check).

Pure: takes what the store said and `now`, returns the document. Only a store that cannot
persist is `fail` (503): everything else degrades to `warn` so uptime checks page on what
loses updates, and dashboards show the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.delivery_errors import classify
from core.metrics import VERSION
from core.storage import Observation, QueueStats

RANK = {"pass": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class Limits:
    queue_age_seconds: float
    backlog: int
    poll_interval_seconds: float


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


def assemble(store_error: str | None, checks: dict[str, list[dict]], now: float) -> dict:
    store = check("fail", output=store_error, now=now) if store_error else check("pass", now=now)
    all_checks = {"store:writable": [store], **checks}
    worst = max((RANK[c["status"]] for entries in all_checks.values() for c in entries), default=0)
    status = next(name for name, rank in RANK.items() if rank == worst)
    return {"status": status, "version": VERSION, "serviceId": "tgwebhook", "checks": all_checks}
