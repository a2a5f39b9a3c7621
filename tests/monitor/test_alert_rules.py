"""Each alert rule as a table: facts in, severity (or no finding) out. Pure, no I/O."""

from __future__ import annotations

import pytest

from core.metrics import ALERTS
from core.storage import CertificateCheck, Observation, QueueStats
from monitor import rules
from monitor.rules import CRITICAL, WARNING, Facts, Thresholds
from tests.helpers.monitor_kit import observation

NOW = 1_700_000_000.0
LIMITS = Thresholds(
    poll_interval_seconds=15,
    backlog_threshold=100,
    backlog_polls=2,
    backlog_rising_seconds=600,
    poll_failures_threshold=3,
    receiver_silent_seconds=300,
    queue_age_seconds=300,
    cert_expiry_days=14,
)
EXPECTED = "https://bot.example.com/webhook/default"


def polls(*pending: int, every: float = 15, **over) -> tuple[Observation, ...]:
    """Successful polls, newest first, `every` seconds apart, ending at NOW."""
    return tuple(observation(NOW - i * every, p, **over) for i, p in enumerate(pending))


def failed(at: float, code: int | None = 502) -> Observation:
    return Observation("default", at, ok=False, error_code=code, error="Bad Gateway")


def facts(window=(), **over) -> Facts:
    return Facts(bot="default", window=tuple(window), expected_url=EXPECTED, **over)


def judge(rule, case: Facts) -> str | None:
    found = rule(case, LIMITS, NOW)
    return found.severity if found else None


def with_error(pending: int, date: float | None, at: float = NOW, **over) -> Observation:
    return observation(
        at,
        pending,
        last_error_date=date,
        last_error_message="Wrong response from the webhook: 502 Bad Gateway",
        **over,
    )


@pytest.mark.parametrize(
    "window, expected",
    [
        (polls(150, 120), WARNING),  # over the threshold for backlog_polls polls
        (polls(150, 90), None),  # just one poll over: a burst
        (polls(150), None),  # not enough polls yet
        (polls(99, 99, 99), None),
        (polls(*range(12, 0, -1), every=60), WARNING),  # rising for 11 minutes
        (polls(*range(6, 0, -1), every=60), None),  # rising, but only 5 minutes of history
        (polls(12, 11, 10, 3, 8, 7, 6, 5, 4, 3, 2, 1, every=60), None),  # dipped on the way
        (polls(*[50] * 12, every=60), None),  # high but flat
    ],
)
def test_backlog(window, expected):
    assert judge(rules.backlog, facts(window)) == expected


@pytest.mark.parametrize(
    "window, firing, expected",
    [
        # Telegram never clears last_error_*: an old error with nothing pending is history.
        ((with_error(0, NOW - 3600), with_error(0, NOW - 3600, NOW - 15)), False, None),
        ((with_error(5, NOW - 3600), with_error(5, NOW - 3600, NOW - 15)), False, None),
        ((with_error(0, NOW - 5), with_error(0, NOW - 3600, NOW - 15)), False, None),
        # a fresh error while updates wait: fires on the first poll that sees it
        ((with_error(7, NOW - 5), with_error(2, NOW - 3600, NOW - 15)), False, CRITICAL),
        ((with_error(3, NOW - 40), with_error(3, NOW - 3600, NOW - 15)), False, CRITICAL),
        ((with_error(3, NOW - 40), observation(NOW - 15, 3)), False, CRITICAL),
        ((with_error(5, NOW - 20),), False, CRITICAL),  # first poll ever, recent error
        ((with_error(5, NOW - 3600),), False, None),  # first poll ever, stale error
        # while firing, Telegram's backoff (up to 120 s) between failures keeps it firing
        ((with_error(5, NOW - 100), with_error(5, NOW - 100, NOW - 15)), True, CRITICAL),
        ((with_error(5, NOW - 200), with_error(5, NOW - 200, NOW - 15)), True, None),
        ((with_error(0, NOW - 20), with_error(4, NOW - 20, NOW - 15)), True, None),  # drained
    ],
)
def test_delivery_errors(window, firing, expected):
    case = facts(window, firing=frozenset({"delivery_errors"} if firing else ()))
    assert judge(rules.delivery_errors, case) == expected


def test_delivery_error_finding_explains_the_error_class_and_what_to_do():
    found = rules.delivery_errors(facts((with_error(7, NOW - 5),)), LIMITS, NOW)
    assert found.details["error_class"] == "app_5xx"
    assert "health" in found.details["advice"]
    assert "7 updates waiting" in found.summary


@pytest.mark.parametrize(
    "url, expected_url, missing, mismatch",
    [
        ("", EXPECTED, CRITICAL, None),
        (EXPECTED, EXPECTED, None, None),
        ("https://elsewhere.example.com/hook", EXPECTED, None, CRITICAL),
        ("https://elsewhere.example.com/hook", "", None, None),  # no public URL: cannot judge
    ],
)
def test_webhook_missing_and_url_mismatch(url, expected_url, missing, mismatch):
    case = Facts("default", polls(0, url=url), expected_url=expected_url)
    assert judge(rules.webhook_missing, case) == missing
    assert judge(rules.url_mismatch, case) == mismatch


@pytest.mark.parametrize(
    "observed, configured, expected",
    [
        ({"max_connections": 40, "allowed_updates": None}, {}, None),
        ({"max_connections": 100}, {}, WARNING),
        ({"allowed_updates": ("message",)}, {}, WARNING),
        (
            {"allowed_updates": ("message", "callback_query")},
            {"allowed_updates": ("callback_query", "message")},
            None,
        ),
        ({"allowed_updates": None}, {"allowed_updates": ("message",)}, WARNING),
        ({"url": "", "max_connections": None}, {"max_connections": 10}, None),  # no webhook
    ],
)
def test_config_drift(observed, configured, expected):
    case = facts(polls(0, **observed), **configured)
    assert judge(rules.config_drift, case) == expected


@pytest.mark.parametrize(
    "window, expected",
    [
        ((failed(NOW), failed(NOW - 15), failed(NOW - 30)), WARNING),
        ((failed(NOW), failed(NOW - 15), observation(NOW - 30)), None),
        ((observation(NOW), failed(NOW - 15), failed(NOW - 30), failed(NOW - 45)), None),
        ((failed(NOW, code=401),), CRITICAL),  # revoked token: at once
        ((failed(NOW, code=None), failed(NOW - 15, None), failed(NOW - 30, None)), WARNING),
    ],
)
def test_poll_failing(window, expected):
    assert judge(rules.poll_failing, facts(window)) == expected


def queue(last_received_at: float | None = None, age: float = 0.0, dead: int = 0) -> QueueStats:
    return QueueStats("default", 1 if age else 0, age, dead, last_received_at)


@pytest.mark.parametrize(
    "window, received, expected",
    [
        (polls(*[3] * 8, every=60), None, CRITICAL),  # pending 7 min, nothing ever arrived
        (polls(*[3] * 8, every=60), NOW - 600, CRITICAL),
        (polls(*[3] * 8, every=60), NOW - 60, None),  # updates do arrive
        (polls(3, 3, 3, 0, 3, 3, 3, 3, every=60), None, None),  # drained in between
        (polls(*[3] * 4, every=60), None, None),  # only 3 minutes of history
        (polls(*[0] * 8, every=60), None, None),
    ],
)
def test_receiver_silent(window, received, expected):
    case = facts(window, queue=queue(last_received_at=received))
    assert judge(rules.receiver_silent, case) == expected


@pytest.mark.parametrize(
    "dates, expected",
    [
        ((NOW - 5,), WARNING),
        ((NOW - 3600, NOW - 3600), None),  # stale, unchanged
        ((NOW - 100, NOW - 3600), WARNING),  # new since the previous poll
        ((None, None), None),
    ],
)
def test_sync_error(dates, expected):
    window = [
        observation(NOW - i * 15, last_synchronization_error_date=d) for i, d in enumerate(dates)
    ]
    assert judge(rules.sync_error, facts(window)) == expected


@pytest.mark.parametrize(
    "stats, backlog, dead",
    [
        (queue(age=301), WARNING, None),
        (queue(age=300), None, None),
        (queue(dead=1), None, WARNING),
        (None, None, None),
    ],
)
def test_queue_backlog_and_dead_letters(stats, backlog, dead):
    case = facts(queue=stats)
    assert judge(rules.queue_backlog, case) == backlog
    assert judge(rules.dead_letters, case) == dead


def cert(days: float | None, error: str = "") -> CertificateCheck:
    not_after = None if days is None else NOW + days * 86400
    return CertificateCheck("default", "bot.example.com", NOW, not_after, error)


@pytest.mark.parametrize(
    "check, expected",
    [
        (cert(30), None),
        (cert(10), WARNING),
        (cert(2), CRITICAL),
        (cert(-1), CRITICAL),
        (cert(None, "certificate has expired"), CRITICAL),
        (cert(None), None),
    ],
)
def test_cert_expiry(check, expected):
    assert judge(rules.cert_expiry, facts(https=True, certificate=check)) == expected


def test_every_alert_name_has_exactly_one_rule():
    assert sorted(rules.RULES) == sorted(ALERTS)


def test_a_failed_poll_leaves_telegram_alerts_unknown_instead_of_resolving_them():
    evaluation = rules.evaluate(facts((failed(NOW), with_error(7, NOW - 5, NOW - 15))), LIMITS, NOW)
    assert "delivery_errors" in evaluation.unknown
    assert [f.alert for f in evaluation.findings] == []


def test_a_bot_without_token_is_judged_only_on_its_local_queue():
    case = Facts("default", polled=False, queue=queue(dead=2), expected_url=EXPECTED)
    evaluation = rules.evaluate(case, LIMITS, NOW)
    assert [f.alert for f in evaluation.findings] == ["dead_letters"]
    assert evaluation.unknown == frozenset()


def test_evaluate_collects_every_finding_of_a_bad_poll():
    window = (
        with_error(150, NOW - 5, url="https://elsewhere.example.com/hook"),
        with_error(140, NOW - 3600, NOW - 15),
    )
    found = {f.alert for f in rules.evaluate(facts(window), LIMITS, NOW).findings}
    assert found == {"backlog", "delivery_errors", "url_mismatch"}


def test_window_size_covers_the_longest_time_based_rule():
    assert LIMITS.window_size() >= 600 / 15 + 1
