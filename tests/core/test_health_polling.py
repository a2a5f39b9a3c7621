"""/health for a polling bot: a consumer that stopped polling while its updates wait."""

from __future__ import annotations

import pytest

from core.health import Limits, assemble, poll_checks
from core.storage import QueueStats

NOW = 1_800_000_000.0
LIMITS = Limits(queue_age_seconds=300, backlog=100, poll_interval_seconds=15)


def judged(pending: int, oldest_age: float, since_poll: float | None) -> dict:
    stats = QueueStats("default", pending, oldest_age, 0, NOW)
    polled_at = None if since_poll is None else NOW - since_poll
    return poll_checks([stats], {"default": polled_at}, LIMITS, NOW)["getUpdates:lastPollAge"][0]


@pytest.mark.parametrize(
    ("pending", "oldest_age", "since_poll", "status"),
    [
        (0, 0.0, None, "pass"),  # never polled, nothing waits: nobody is missing anything
        (0, 0.0, 7200.0, "pass"),  # a consumer stopped with nothing to read
        (5, 3600.0, 50.0, "pass"),  # a long poll may last 50 s
        (5, 3600.0, 61.0, "warn"),  # updates wait and nobody polled for a minute
        (5, 30.0, 3600.0, "pass"),  # the consumer left long ago, but the updates are new
        (5, 61.0, None, "warn"),  # never polled while updates waited a minute
        (199, 599.0, 599.0, "warn"),
        (200, 1.0, 1.0, "warn"),  # Telegram's 200 pending: behind even while polling
        (200, 601.0, 601.0, "fail"),  # 200 waited ten minutes with no poll: they will expire
        (5000, 601.0, 30.0, "warn"),  # polled lately: a slow consumer, not a gone one
        (200, 601.0, None, "fail"),
    ],
)
def test_a_polling_consumer_is_judged_by_how_long_its_updates_waited_for_a_poll(
    pending, oldest_age, since_poll, status
):
    entry = judged(pending, oldest_age, since_poll)
    assert entry["status"] == status
    assert entry["componentId"] == "default" and f"{pending} pending" in entry["output"]
    assert assemble(None, {"getUpdates:lastPollAge": [entry]}, NOW)["status"] == status


def test_only_polling_bots_get_a_poll_check():
    stats = [QueueStats("hooked", 500, 9999.0, 0, NOW)]
    assert poll_checks(stats, {}, LIMITS, NOW) == {}
