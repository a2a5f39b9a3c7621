"""Alert rules: pure functions from what was observed to a Finding or None.

Every rule takes the bot's facts (the getWebhookInfo observation window, newest first, plus
the local queue and certificate), the thresholds and `now`. No I/O, no clock, no store.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.config import Settings
from core.delivery_errors import ADVICE, classify
from core.storage import CertificateCheck, Observation, QueueStats

CRITICAL, WARNING = "critical", "warning"
# Telegram's retry gap grows to a random cap in [60, 120] s (tdlib WebhookActor), so during an
# outage a firing alert sees a "new" error at least this often; it keeps firing meanwhile.
TELEGRAM_RETRY_GAP_SECONDS = 120.0
SET_WEBHOOK = "run `python app.py set-webhook`"
DOCTOR = "run `python app.py doctor`"


@dataclass(frozen=True)
class Thresholds:
    poll_interval_seconds: float = 15.0
    backlog_threshold: int = 100
    backlog_polls: int = 2
    backlog_rising_seconds: float = 600.0
    poll_failures_threshold: int = 3
    receiver_silent_seconds: float = 300.0
    queue_age_seconds: float = 300.0
    cert_expiry_days: int = 14

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            poll_interval_seconds=settings.poll_interval_seconds,
            backlog_threshold=settings.backlog_threshold,
            backlog_polls=settings.backlog_polls,
            backlog_rising_seconds=settings.backlog_rising_minutes * 60,
            poll_failures_threshold=settings.poll_failures_threshold,
            receiver_silent_seconds=settings.receiver_silent_minutes * 60,
            queue_age_seconds=settings.queue_age_threshold_seconds,
            cert_expiry_days=settings.cert_expiry_days,
        )

    def window_size(self) -> int:
        """Observations the rules need: the longest time-based rule, plus one before it."""
        longest = max(self.backlog_rising_seconds, self.receiver_silent_seconds)
        polls = int(longest / self.poll_interval_seconds) + 3
        return min(2000, max(polls, self.backlog_polls, self.poll_failures_threshold) + 1)


@dataclass(frozen=True)
class Facts:
    """Everything known about one bot at evaluation time."""

    bot: str
    window: tuple[Observation, ...] = ()  # newest first
    polled: bool = True  # a token is configured, so getWebhookInfo is polled
    queue: QueueStats | None = None
    expected_url: str = ""  # public_url + /webhook/<bot>; "" when no public URL is set
    max_connections: int = 40
    allowed_updates: tuple[str, ...] = ()
    https: bool = False  # the public URL is https, so its certificate is checked
    certificate: CertificateCheck | None = None
    firing: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Finding:
    bot: str
    alert: str
    severity: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    findings: tuple[Finding, ...]
    unknown: frozenset[str]  # alerts that cannot be judged now: keep their current state


def finding(facts: Facts, alert: str, severity: str, summary: str, **details: Any) -> Finding:
    return Finding(facts.bot, alert, severity, summary, details)


def ok_window(facts: Facts) -> list[Observation]:
    return [obs for obs in facts.window if obs.ok]


def span(observations: list[Observation], now: float, seconds: float) -> list[Observation] | None:
    """Observations of the last `seconds` plus the first one before; None if history is short."""
    inside = [obs for obs in observations if obs.observed_at >= now - seconds]
    before = observations[len(inside) : len(inside) + 1]
    return inside + before if before else None


# -- Telegram side (evaluated only on a fresh successful poll: window[0].ok) ------------
def backlog(facts: Facts, limits: Thresholds, now: float) -> Finding | None:
    window = ok_window(facts)
    pending = window[0].pending_update_count or 0
    recent = [obs.pending_update_count or 0 for obs in window[: limits.backlog_polls]]
    over = len(recent) == limits.backlog_polls and min(recent) >= limits.backlog_threshold
    covered = span(window, now, limits.backlog_rising_seconds) or []
    counts = [obs.pending_update_count or 0 for obs in reversed(covered)]
    rising = len(counts) > 1 and counts[-1] > counts[0] and counts == sorted(counts)
    if not (over or rising):
        return None
    minutes = limits.backlog_rising_seconds / 60
    why = f"for {limits.backlog_polls} polls" if over else f"rising for {minutes:g} min"
    summary = f"Telegram holds {pending} undelivered updates ({why})"
    return finding(facts, "backlog", WARNING, summary, pending_update_count=pending)


def delivery_errors(facts: Facts, limits: Thresholds, now: float) -> Finding | None:
    """A fresh delivery error with updates waiting; Telegram never clears last_error_*."""
    window = ok_window(facts)
    newest = window[0]
    pending = newest.pending_update_count or 0
    if not newest.last_error_date or pending == 0:
        return None
    previous = window[1].last_error_date if len(window) > 1 else None
    advanced = newest.last_error_date > (previous or 0) and len(window) > 1
    fresh_for = 2 * limits.poll_interval_seconds
    if "delivery_errors" in facts.firing:
        fresh_for = max(fresh_for, TELEGRAM_RETRY_GAP_SECONDS + limits.poll_interval_seconds)
    if not (advanced or now - newest.last_error_date <= fresh_for):
        return None
    kind = classify(newest.last_error_message)
    summary = f"Telegram cannot deliver to the webhook ({kind}); {pending} updates waiting"
    return finding(
        facts,
        "delivery_errors",
        CRITICAL,
        summary,
        pending_update_count=pending,
        last_error_message=newest.last_error_message,
        last_error_date=newest.last_error_date,
        error_class=kind,
        advice=ADVICE[kind],
    )


def webhook_missing(facts: Facts, limits: Thresholds, now: float) -> Finding | None:
    if ok_window(facts)[0].url:
        return None
    summary = "No webhook is set: updates wait at Telegram until one is"
    return finding(facts, "webhook_missing", CRITICAL, summary, advice=SET_WEBHOOK)


def url_mismatch(facts: Facts, limits: Thresholds, now: float) -> Finding | None:
    url = ok_window(facts)[0].url
    if not facts.expected_url or not url or url == facts.expected_url:
        return None
    summary = "Telegram delivers to another URL than this appliance's"
    return finding(
        facts,
        "url_mismatch",
        CRITICAL,
        summary,
        url=url,
        expected=facts.expected_url,
        advice=SET_WEBHOOK,
    )


def config_drift(facts: Facts, limits: Thresholds, now: float) -> Finding | None:
    newest = ok_window(facts)[0]
    if not newest.url:
        return None
    drift: dict[str, Any] = {}
    if newest.max_connections is not None and newest.max_connections != facts.max_connections:
        drift["max_connections"] = [newest.max_connections, facts.max_connections]
    # Telegram omits allowed_updates while it is the default; empty configured means default.
    observed = sorted(newest.allowed_updates or ())
    if observed != sorted(facts.allowed_updates):
        drift["allowed_updates"] = [observed, sorted(facts.allowed_updates)]
    if not drift:
        return None
    summary = f"Webhook settings differ from the configuration: {', '.join(sorted(drift))}"
    return finding(
        facts, "config_drift", WARNING, summary, telegram_vs_configured=drift, advice=SET_WEBHOOK
    )


def receiver_silent(facts: Facts, limits: Thresholds, now: float) -> Finding | None:
    """Telegram has had updates waiting all along, yet none reached this appliance."""
    covered = span(ok_window(facts), now, limits.receiver_silent_seconds)
    if not covered or any((obs.pending_update_count or 0) == 0 for obs in covered):
        return None
    last = facts.queue.last_received_at if facts.queue else None
    if last is not None and now - last < limits.receiver_silent_seconds:
        return None
    minutes = limits.receiver_silent_seconds / 60
    summary = f"Telegram has updates waiting but none arrived here for {minutes:g} min"
    return finding(
        facts,
        "receiver_silent",
        CRITICAL,
        summary,
        last_received_at=last,
        pending_update_count=covered[0].pending_update_count,
    )


def sync_error(facts: Facts, limits: Thresholds, now: float) -> Finding | None:
    window = ok_window(facts)
    date = window[0].last_synchronization_error_date
    if not date:
        return None
    previous = window[1].last_synchronization_error_date if len(window) > 1 else None
    advanced = len(window) > 1 and date > (previous or 0)
    if not (advanced or now - date <= 2 * limits.poll_interval_seconds):
        return None
    summary = "Telegram reports a synchronization error with its datacenter"
    return finding(facts, "sync_error", WARNING, summary, last_synchronization_error_date=date)


# -- the poll itself --------------------------------------------------------------------
def poll_failing(facts: Facts, limits: Thresholds, now: float) -> Finding | None:
    failed = list(itertools.takewhile(lambda obs: not obs.ok, facts.window))
    if failed and failed[0].error_code == 401:
        return finding(
            facts,
            "poll_failing",
            CRITICAL,
            "The bot token was revoked (401)",
            advice="issue a new token with @BotFather and configure it",
        )
    if len(failed) < limits.poll_failures_threshold:
        return None
    summary = f"getWebhookInfo failed {len(failed)} times in a row"
    return finding(
        facts,
        "poll_failing",
        WARNING,
        summary,
        error=failed[0].error,
        error_code=failed[0].error_code,
    )


# -- this appliance ---------------------------------------------------------------------
def queue_backlog(facts: Facts, limits: Thresholds, now: float) -> Finding | None:
    if facts.queue is None or facts.queue.oldest_age_seconds <= limits.queue_age_seconds:
        return None
    age = facts.queue.oldest_age_seconds
    summary = f"The oldest undelivered update has waited {age:.0f} s for the bot backend"
    return finding(
        facts,
        "queue_backlog",
        WARNING,
        summary,
        oldest_age_seconds=round(age, 1),
        depth=facts.queue.depth,
    )


def dead_letters(facts: Facts, limits: Thresholds, now: float) -> Finding | None:
    if facts.queue is None or facts.queue.dead_letters == 0:
        return None
    count = facts.queue.dead_letters
    summary = f"{count} update{'' if count == 1 else 's'} exhausted their delivery budget"
    return finding(
        facts,
        "dead_letters",
        WARNING,
        summary,
        dead_letters=facts.queue.dead_letters,
        advice="inspect and replay them: `python app.py dlq`",
    )


def cert_expiry(facts: Facts, limits: Thresholds, now: float) -> Finding | None:
    check = facts.certificate
    if check is None:
        return None
    if check.error:
        summary = f"The certificate of {check.host} is not valid: {check.error}"
        return finding(facts, "cert_expiry", CRITICAL, summary, host=check.host, advice=DOCTOR)
    if check.not_after is None:
        return None
    days = (check.not_after - now) / 86400
    if days >= limits.cert_expiry_days:
        return None
    summary = f"The certificate of {check.host} expires in {days:.1f} days"
    severity = CRITICAL if days < 3 else WARNING
    return finding(
        facts,
        "cert_expiry",
        severity,
        summary,
        host=check.host,
        days_left=round(days, 2),
        advice=DOCTOR,
    )


Rule = Callable[[Facts, Thresholds, float], Finding | None]
TELEGRAM_RULES: dict[str, Rule] = {
    "backlog": backlog,
    "delivery_errors": delivery_errors,
    "webhook_missing": webhook_missing,
    "url_mismatch": url_mismatch,
    "config_drift": config_drift,
    "receiver_silent": receiver_silent,
    "sync_error": sync_error,
}
RULES: dict[str, Rule] = {
    **TELEGRAM_RULES,
    "poll_failing": poll_failing,
    "queue_backlog": queue_backlog,
    "dead_letters": dead_letters,
    "cert_expiry": cert_expiry,
}


def unknown_alerts(facts: Facts) -> frozenset[str]:
    """Alerts without data to judge: keep them as they are rather than resolve on no news."""
    unknown: set[str] = set()
    if facts.polled and not (facts.window and facts.window[0].ok):
        unknown |= set(TELEGRAM_RULES)
    if facts.polled and not facts.window:
        unknown.add("poll_failing")
    if facts.https and facts.certificate is None:
        unknown.add("cert_expiry")
    return frozenset(unknown)


def not_applicable(facts: Facts) -> frozenset[str]:
    """Alerts that cannot fire for this bot's configuration (so they resolve if firing)."""
    skipped: set[str] = set()
    if not facts.polled:
        skipped |= set(TELEGRAM_RULES) | {"poll_failing"}
    if not facts.https:
        skipped.add("cert_expiry")
    return frozenset(skipped)


def evaluate(facts: Facts, limits: Thresholds, now: float) -> Evaluation:
    """Run every applicable rule; returns the findings and the alerts that are unknown now."""
    unknown = unknown_alerts(facts)
    skipped = unknown | not_applicable(facts)
    findings = tuple(
        finding
        for name, rule in RULES.items()
        if name not in skipped and (finding := rule(facts, limits, now)) is not None
    )
    return Evaluation(findings, unknown)
