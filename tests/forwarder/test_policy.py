"""The retry policy as tables: backoff schedule, Retry-After, and the dead-letter budget."""

from __future__ import annotations

import email.utils

import pytest

from forwarder.outage import OutageWatch
from forwarder.policy import Budget, Decision, after_failure, backoff_seconds, parse_retry_after

BUDGET = Budget(max_attempts=5, max_age_seconds=3600, backoff_cap_seconds=60)


@pytest.mark.parametrize(
    ("failures", "low", "high"),
    [
        (1, 0.5, 1.0),  # the first retry is fast
        (2, 1.0, 2.0),
        (3, 2.0, 4.0),
        (6, 16.0, 32.0),
        (7, 30.0, 60.0),  # 64 s capped at 60
        (25, 30.0, 60.0),
        (10_000, 30.0, 60.0),  # no overflow on absurd counts
    ],
)
def test_backoff_doubles_from_one_second_up_to_the_cap(failures, low, high):
    assert backoff_seconds(failures, cap=60, jitter=0.0) == low
    assert backoff_seconds(failures, cap=60, jitter=1.0) == high


@pytest.mark.parametrize("jitter", [0.0, 0.25, 0.5, 0.999])
def test_jitter_never_exceeds_the_cap(jitter):
    assert backoff_seconds(30, cap=5, jitter=jitter) <= 5


@pytest.mark.parametrize(
    ("attempts", "age", "retry_after", "expected"),
    [
        (1, 0, None, Decision(False, 1000 + 0.75)),
        (2, 0, None, Decision(False, 1000 + 1.5)),
        (4, 10, None, Decision(False, 1000 + 6.0)),
        (5, 0, None, Decision(True)),  # attempts spent
        (1, 3600, None, Decision(True)),  # age spent
        (1, 4000, None, Decision(True)),
        (1, 0, 30.0, Decision(False, 1000 + 30.0)),  # the bot's Retry-After wins when longer
        (3, 0, 0.1, Decision(False, 1000 + 3.0)),  # ... and backoff when Retry-After is shorter
        (1, 3590, None, Decision(False, 1000 + 0.75)),
        (1, 3599.5, None, Decision(False, 1000 + 0.5)),  # last retry lands on the deadline
        (1, 3500, 7200.0, Decision(False, 1000 + 100.0)),  # never past the deadline
    ],
)
def test_after_failure_retries_within_the_budget_and_then_gives_up(
    attempts, age, retry_after, expected
):
    now = 1000.0
    decision = after_failure(attempts, now - age, now, BUDGET, retry_after, jitter=0.5)
    assert decision == expected


@pytest.mark.parametrize(
    ("attempts", "age", "expected"),
    [
        (5, 0, Decision(False, 1000 + 12.0)),  # attempts spent, but the bot is down for all
        (500, 0, Decision(False, 1000 + 45.0)),
        (5, 3600, Decision(True)),  # the age budget still ends it
    ],
)
def test_during_an_outage_only_the_age_budget_counts(attempts, age, expected):
    now = 1000.0
    assert after_failure(attempts, now - age, now, BUDGET, None, 0.5, outage=True) == expected


def test_an_outage_is_failures_in_two_chats_with_no_success_between():
    watch = OutageWatch()
    assert not watch.record_failure("shop", "5")  # one chat: maybe that update's fault
    assert not watch.record_failure("shop", "5")
    assert not watch.record_failure("news", "6")  # another bot is judged on its own
    assert watch.record_failure("shop", "6")  # a second chat: down for everyone
    assert watch.record_failure("shop", "5")
    watch.record_success("shop")  # something got through: back to judging each update
    assert not watch.record_failure("shop", "6")


def test_huge_retry_after_is_bounded_to_an_hour():
    budget = Budget(max_attempts=5, max_age_seconds=86400, backoff_cap_seconds=60)
    assert after_failure(1, 0.0, 0.0, budget, retry_after=10**9).next_attempt_at == 3600


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        (" 120 ", 120.0),
        ("-3", None),
        ("soon", None),
        (email.utils.formatdate(1060, usegmt=True), 60.0),
        (email.utils.formatdate(900, usegmt=True), 0.0),  # a date in the past: retry now
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header, expected):
    assert parse_retry_after(header, now=1000.0) == expected
