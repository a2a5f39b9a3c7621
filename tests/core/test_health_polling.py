"""/health for a polling bot: a consumer that stopped polling while its updates wait."""

from __future__ import annotations

import time

import pytest

from core.health import Limits, assemble, poll_checks
from core.storage import IncomingUpdate, QueueStats

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


def record(store, count: int, received_at: float) -> None:
    for update_id in range(1, count + 1):
        body = b'{"update_id": %d}' % update_id
        update = IncomingUpdate(
            "default", update_id, "message", str(update_id), body, received_at, 1
        )
        store.record_update(update, False)


def test_health_endpoint_fails_for_a_consumer_gone_with_a_backlog_and_recovers_on_a_poll(
    client, store
):
    record(store, 200, time.time() - 3600)
    store.take_poll("default", time.time() - 3600)
    response = client.get("/health")
    assert response.status_code == 503
    entry = response.json["checks"]["getUpdates:lastPollAge"][0]
    assert entry["status"] == "fail" and entry["observedValue"] >= 3600
    assert response.json["checks"]["queue:depth"][0]["observedValue"] == 200
    store.take_poll("default", time.time())
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json["checks"]["getUpdates:lastPollAge"][0]["status"] == "warn"


def test_health_endpoint_passes_a_polling_bot_nobody_polls_with_nothing_waiting(client):
    entry = client.get("/health").json["checks"]["getUpdates:lastPollAge"][0]
    assert entry == {
        "status": "pass",
        "componentId": "default",
        "output": "0 pending, never polled",
    }
