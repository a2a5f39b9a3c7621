"""A ring names the work it announces: the forwarder is woken by `pending` rows only, a parked
getUpdates by `stored` rows only, and an announcement (a replay) wakes both."""

from __future__ import annotations

import threading

import pytest

from core.storage import PENDING, STORED
from core.storage.wakeup import encode_kinds, is_wanted
from tests.helpers.forward_kit import enqueue

QUIET = 0.6  # longer than a LISTEN loop's 0.5 s turn: a wake-up due would have come


@pytest.mark.parametrize(
    ("message", "wants", "wanted"),
    [
        ("pending", {PENDING}, True),
        ("stored", {PENDING}, False),
        ("pending,stored", {STORED}, True),
        ("", {PENDING}, True),  # an announcement concerns everyone
        ("stored", {STORED}, True),
    ],
)
def test_a_ring_concerns_the_listeners_that_want_its_kind(message, wants, wanted):
    assert is_wanted(message, frozenset(wants)) is wanted


def test_the_ring_text_lists_kinds_in_a_fixed_order():
    assert encode_kinds(frozenset({STORED, PENDING})) == "pending,stored"


def woken_by(store, wants):
    event = threading.Event()
    listener = store.listen_for_work(event.set, wants)
    event.wait(2)  # PostgreSQL wakes once on connect: notifications before it are lost
    event.clear()
    return event, listener


def test_an_update_for_a_polling_bot_does_not_wake_the_forwarder(open_url):
    store = open_url()
    event, listener = woken_by(store, (PENDING,))
    try:
        enqueue(store, 1, 5, forward=False)
        assert not event.wait(QUIET), "a stored row woke a pending-only listener"
        enqueue(store, 2, 5, forward=True)
        assert event.wait(5), "a pending row did not wake the forwarder"
    finally:
        listener.close()


def test_a_parked_poll_is_woken_by_stored_rows_and_by_announcements(open_url):
    store = open_url()
    event, listener = woken_by(store, (STORED,))
    try:
        enqueue(store, 1, 5, forward=True)
        assert not event.wait(QUIET), "a pending row woke a stored-only listener"
        enqueue(store, 2, 5, forward=False)
        assert event.wait(5)
        event.clear()
        store.announce_work()
        assert event.wait(5), "an announcement did not wake the listener"
    finally:
        listener.close()
