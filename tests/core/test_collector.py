"""Scrape-time store figures for polling bots: getUpdates pending, the queue, the last poll."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from core.storage import IncomingUpdate

MAX_BYTES = 4 << 20


def samples(client) -> dict[tuple[str, str], float]:
    """(family sample name, bot) -> value, for the per-bot samples of /metrics."""
    text = client.get("/metrics").text
    return {
        (s.name, s.labels["bot"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if "bot" in s.labels and len(s.labels) == 1
    }


def store_updates(store, ids, received_at: float, bot: str = "default", forward=False) -> None:
    for update_id in ids:
        body = b'{"update_id": %d}' % update_id
        update = IncomingUpdate(bot, update_id, "message", str(update_id), body, received_at, True)
        assert store.record_update(update, forward)


def test_a_polling_bots_unconfirmed_updates_are_its_queue_and_its_getupdates_pending(store, client):
    store_updates(store, [10, 11, 12], time.time() - 30)
    figures = samples(client)
    assert figures[("tgwebhook_getupdates_pending", "default")] == 3
    assert figures[("tgwebhook_queue_depth", "default")] == 3
    assert 29 <= figures[("tgwebhook_queue_oldest_age_seconds", "default")] <= 60
    assert ("tgwebhook_getupdates_last_poll_timestamp_seconds", "default") not in figures


def test_confirming_through_getupdates_drains_pending_and_stamps_the_poll(store, client):
    store_updates(store, [10, 11, 12], time.time())
    polled_at = time.time()
    store.take_poll("default", polled_at)
    served = store.unconfirmed_updates("default", 100, MAX_BYTES, store.poll_cursor("default"))
    assert [u.update_id for u in served] == [10, 11, 12]
    store.confirm_below("default", 12, time.time())  # offset 12 confirms 10 and 11
    figures = samples(client)
    assert figures[("tgwebhook_getupdates_pending", "default")] == 1
    assert figures[("tgwebhook_queue_depth", "default")] == 1
    last_poll = figures[("tgwebhook_getupdates_last_poll_timestamp_seconds", "default")]
    assert last_poll == pytest.approx(polled_at)


@pytest.fixture
def forwarded(make_settings):
    """The app and its store for a bot whose updates go to its own webhook backend."""
    app = create_app(make_settings(forward_url="http://127.0.0.1:9/hook"))
    yield app.test_client(), app.extensions["tgwebhook.store"]
    app.extensions["tgwebhook.store"].close()


def test_a_forwarded_bot_has_no_getupdates_figures_and_queues_its_pending_updates(forwarded):
    client, store = forwarded
    store_updates(store, [1, 2], time.time(), forward=True)
    store_updates(store, [3], time.time())  # a stored-only row (e.g. a dropped dead letter)
    figures = samples(client)
    assert figures[("tgwebhook_queue_depth", "default")] == 2
    assert ("tgwebhook_getupdates_pending", "default") not in figures
    assert ("tgwebhook_getupdates_last_poll_timestamp_seconds", "default") not in figures
