"""queue_stats for polling bots on both backends: what the collector and /health read."""

from __future__ import annotations

import pytest

from core.storage import IncomingUpdate

NOW = 1_800_000_000.0


@pytest.fixture
def store(any_store):
    return any_store


def record(store, bot: str, update_id: int, at: float, forward: bool) -> None:
    body = b'{"update_id": %d}' % update_id
    store.record_update(IncomingUpdate(bot, update_id, "message", "7", body, at, True), forward)


def test_a_polling_bots_queue_is_its_unconfirmed_updates_and_a_forwarded_bots_is_not(store):
    record(store, "polls", 1, NOW - 90, forward=False)
    record(store, "polls", 2, NOW - 30, forward=False)
    record(store, "hooked", 1, NOW - 60, forward=True)
    record(store, "hooked", 2, NOW - 20, forward=False)  # stored only: not in its queue
    stats = {s.bot: s for s in store.queue_stats(["polls", "hooked"], NOW, {"polls"})}
    assert (stats["polls"].depth, stats["polls"].oldest_age_seconds) == (2, 90)
    assert (stats["hooked"].depth, stats["hooked"].oldest_age_seconds) == (1, 60)
    unaware = {s.bot: s.depth for s in store.queue_stats(["polls", "hooked"], NOW)}
    assert unaware == {"polls": 0, "hooked": 1}  # callers that do not pass `polling`, as before


def test_a_confirmed_update_leaves_a_polling_bots_queue(store):
    record(store, "polls", 1, NOW - 90, forward=False)
    record(store, "polls", 2, NOW - 30, forward=False)
    store.take_poll("polls", NOW)
    store.unconfirmed_updates("polls", 100, 1 << 20, store.poll_cursor("polls"))
    store.confirm_below("polls", 2, NOW)
    [stats] = store.queue_stats(["polls"], NOW, ("polls",))
    assert (stats.depth, stats.oldest_age_seconds) == (1, 30)
    assert store.poll_cursor("polls").polled_at == NOW
