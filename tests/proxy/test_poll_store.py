"""The getUpdates verbs (core/storage/polling.py) on a real store, both backends."""

from __future__ import annotations

import pytest

from core.storage import IncomingUpdate

NOW = 1_800_000_000.0
HOUR = 3600.0
MAX = 1 << 22


@pytest.fixture
def store(any_store):
    return any_store


def put(store, update_id: int, at: float = NOW, kind: str = "message", size: int = 10) -> None:
    body = b'{"update_id":%d,"x":"%s"}' % (update_id, b"y" * size)
    update = IncomingUpdate("default", update_id, kind, "chat:1", body, at, True)
    assert store.record_update(update, forward=False)


def served(store, limit: int = 100) -> list[int]:
    batch = store.unconfirmed_updates("default", limit, MAX, store.poll_cursor("default"))
    return [u.update_id for u in batch]


def test_an_offset_confirms_only_what_was_served(store):
    store.take_poll("default", NOW)
    put(store, 5)
    assert served(store) == [5]
    put(store, 4)  # another chat's update, committed after 5 was served
    assert store.confirm_below("default", 6, NOW) == 1
    assert served(store) == [4]


def test_a_negative_offset_keeps_the_newest(store):
    store.take_poll("default", NOW)
    for update_id in (1, 2, 3):
        put(store, update_id)
    assert store.confirm_all_but("default", 1, NOW) == 2
    assert served(store) == [3]
    assert store.confirm_all_but("default", 0, NOW) == 1
    assert store.unconfirmed_count("default") == 0


def test_the_response_is_capped_near_4_mib_but_never_empty(store):
    store.take_poll("default", NOW)
    for update_id in (1, 2, 3):
        put(store, update_id, size=2_000_000)
    assert served(store) == [1, 2]
    assert store.unconfirmed_updates("default", 100, 10, store.poll_cursor("default"))


def test_allowed_updates_filters_only_updates_received_after_it_was_set(store):
    store.take_poll("default", NOW)
    put(store, 1, at=NOW - 10, kind="edited_message")
    store.save_allowed_updates("default", ("message",), NOW)
    put(store, 2, at=NOW + 1, kind="edited_message")
    put(store, 3, at=NOW + 2, kind="message")
    assert served(store) == [1, 3]


def test_prune_keeps_unconfirmed_updates_younger_than_the_retention(store):
    put(store, 1, at=NOW - 24.9 * HOUR)
    put(store, 2, at=NOW - 25.1 * HOUR)
    store.prune(NOW, dedup_retention=25 * HOUR, payload_retention=24 * HOUR)
    assert store.unconfirmed_count("default") == 1
    assert store.get_update("default", 1) is not None


def test_every_poll_takes_a_new_generation(store):
    first = store.take_poll("default", NOW)
    assert store.take_poll("default", NOW + 1) == first + 1
    assert store.poll_cursor("default").generation == first + 1


def test_one_409_at_once_per_pace_whoever_asks(store):
    assert store.pace_conflict("default", NOW, 3.0) is True
    assert store.pace_conflict("default", NOW + 1, 3.0) is False
    assert store.pace_conflict("default", NOW + 3.5, 3.0) is True
