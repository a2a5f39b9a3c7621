"""The shared flood state (core/storage/flood.py) on both backends: reservations book GCRA
slots atomically across processes' stores, a 429 blocks one key only."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from core.flood import GLOBAL, FloodKey, FloodSettings, keys_of

NOW = 1_800_000_000.0
CHAT = FloodKey("send:1", interval=1.0, tolerance=0.0)


def test_reservations_of_one_chat_get_consecutive_slots(any_store):
    waits = [any_store.reserve_send("b", (CHAT,), NOW, 10).wait for _ in range(4)]
    assert waits == pytest.approx([0.0, 1.0, 2.0, 3.0])


def test_concurrent_reservations_from_several_stores_never_share_a_slot(open_url):
    stores = [open_url() for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        waits = list(
            pool.map(lambda i: stores[i % 4].reserve_send("b", (CHAT,), NOW, 100).wait, range(24))
        )
    assert sorted(waits) == pytest.approx([float(i) for i in range(24)])


def test_a_refused_reservation_books_nothing(any_store):
    for _ in range(3):
        any_store.reserve_send("b", (CHAT,), NOW, 10)
    refused = any_store.reserve_send("b", (CHAT,), NOW, 1.5)
    assert refused.refused_retry_after == 3
    assert any_store.reserve_send("b", (CHAT,), NOW, 10).wait == pytest.approx(3.0)


def test_a_flood_blocks_its_method_in_its_chat_only(any_store):
    limits = FloodSettings()
    contact_a = keys_of(limits, "sendContact", 1)
    any_store.record_flood("b", contact_a[0].name, NOW + 5)
    assert any_store.reserve_send("b", contact_a, NOW, 10).wait == pytest.approx(5.0)
    assert any_store.reserve_send("b", keys_of(limits, "sendMessage", 1), NOW + 0.1, 10).wait < 1
    assert any_store.reserve_send("b", keys_of(limits, "sendContact", 2), NOW, 10).wait == 0.0
    assert any_store.reserve_send("other", contact_a, NOW, 10).wait == 0.0


def test_a_later_block_wins_and_an_earlier_one_does_not_shorten_it(any_store):
    key = FloodKey("sendmessage:1")
    any_store.record_flood("b", key.name, NOW + 5)
    any_store.record_flood("b", key.name, NOW + 20)
    any_store.record_flood("b", key.name, NOW + 2)
    assert any_store.reserve_send("b", (key,), NOW, 60).wait == pytest.approx(20.0)
    assert any_store.reserve_send("b", (key,), NOW, 10).refused_retry_after == 20


def test_a_held_back_call_leaves_the_global_slot_to_other_chats(any_store):
    limits = FloodSettings()
    blocked = keys_of(limits, "sendMessage", 1)
    any_store.record_flood("b", blocked[0].name, NOW + 8)
    assert any_store.reserve_send("b", blocked, NOW, 10).later == (blocked[2], blocked[1])
    other = keys_of(limits, "sendMessage", 2)
    assert other[1].name == GLOBAL
    assert any_store.reserve_send("b", other, NOW, 10).wait == 0.0


def test_pruning_forgets_only_keys_that_hold_nothing(any_store):
    blocked = FloodKey("block:sendmessage:2", interval=0.0, tolerance=0.0)
    any_store.reserve_send("b", (CHAT,), NOW, 10)  # tat NOW + 1: busy until then
    any_store.record_flood("b", blocked.name, NOW + 30)
    assert any_store.prune_flood_keys(NOW + 0.5) == 0
    assert any_store.prune_flood_keys(NOW + 2) == 1  # the chat's slot has passed
    # The block still holds after pruning: the next call waits for it.
    assert any_store.reserve_send("b", (blocked,), NOW + 2, 60).wait == pytest.approx(28.0)
    assert any_store.prune_flood_keys(NOW + 31) == 1
    assert any_store.reserve_send("b", (CHAT,), NOW + 31, 10).wait == 0.0
