"""Queue verbs on a real SQLite file: chat heads, leases, fencing, retries, dead letters."""

from __future__ import annotations

from core.storage import DEAD, DELIVERED, PENDING, STORED
from forward_kit import enqueue

NOW = 1_000_000.0


def claim(store, owner="a", now=NOW, limit=10, lease=30.0, bot="default"):
    return store.claim_due(bot, now, limit, now + lease, owner)


def fill(store, chats_and_ids):
    for update_id, chat in chats_and_ids:
        enqueue(store, update_id, chat, received_at=NOW - 10)


def test_only_the_oldest_update_of_each_chat_is_claimed(queue_store):
    fill(queue_store, [(1, 7), (2, 7), (3, 8), (4, 7), (5, 9)])
    claimed = claim(queue_store)
    assert [u.update_id for u in claimed] == [1, 3, 5]
    assert all(u.body for u in claimed)


def test_a_leased_chat_belongs_to_its_claimer_alone(queue_store):
    fill(queue_store, [(1, 7), (2, 7), (3, 8)])
    assert [u.update_id for u in claim(queue_store, "a", limit=1)] == [1]
    assert [u.update_id for u in claim(queue_store, "b")] == [3]
    assert claim(queue_store, "c") == []


def test_an_expired_lease_is_taken_over_and_the_old_claimer_is_fenced_off(queue_store):
    fill(queue_store, [(1, 7), (2, 7)])
    [first] = claim(queue_store, "crashed", lease=5)
    [again] = claim(queue_store, "b", now=NOW + 6)
    assert again.id == first.id
    assert not queue_store.record_delivered(first.id, "crashed", NOW + 7)
    assert queue_store.record_delivered(first.id, "b", NOW + 7)
    assert queue_store.queued_update(first.id).state == DELIVERED


def test_a_delivered_update_is_never_claimed_again(queue_store):
    fill(queue_store, [(1, 7), (2, 7)])
    [first] = claim(queue_store)
    assert queue_store.record_delivered(first.id, "a", NOW)
    [second] = claim(queue_store, "b", now=NOW + 10_000)
    assert second.update_id == 2
    assert queue_store.record_delivered(second.id, "b", NOW)
    assert claim(queue_store, "c", now=NOW + 10_000) == []
    assert queue_store.queued_update(first.id).attempts == 1


def test_a_retry_waits_for_its_time_and_blocks_only_its_chat(queue_store):
    fill(queue_store, [(1, 7), (2, 7), (3, 8)])
    head, other = claim(queue_store)
    assert queue_store.record_retry(head.id, "a", NOW + 60, "HTTP 500")
    assert queue_store.record_delivered(other.id, "a", NOW)
    assert claim(queue_store, now=NOW + 59) == []
    [retried] = claim(queue_store, now=NOW + 60)
    assert (retried.update_id, retried.attempts, retried.last_error) == (1, 1, "HTTP 500")


def test_a_dead_letter_unblocks_its_chat_and_shows_in_the_counts(queue_store):
    fill(queue_store, [(1, 7), (2, 7)])
    [head] = claim(queue_store)
    assert queue_store.record_dead(head.id, "a", "HTTP 502: bad gateway")
    assert [u.update_id for u in claim(queue_store)] == [2]
    [stats] = queue_store.queue_stats(["default"], NOW)
    assert (stats.depth, stats.dead_letters) == (1, 1)
    [letter] = queue_store.dead_letters()
    assert (letter.update_id, letter.state, letter.last_error) == (1, DEAD, "HTTP 502: bad gateway")


def test_a_held_chat_stays_owned_until_released(queue_store):
    fill(queue_store, [(1, 7), (2, 7)])
    [head] = claim(queue_store)
    assert queue_store.record_delivered(head.id, "a", NOW, hold=True)
    assert claim(queue_store, "b") == []
    assert queue_store.release(head.id, "a")
    assert [u.update_id for u in claim(queue_store, "b")] == [2]


def test_replay_restarts_the_budget_and_puts_the_letter_first_in_its_chat(queue_store):
    fill(queue_store, [(1, 7), (2, 7)])
    [head] = claim(queue_store)
    queue_store.record_dead(head.id, "a", "HTTP 500")
    [second] = claim(queue_store)
    assert queue_store.replay_dead([head.id], NOW + 100) == 1
    assert claim(queue_store, "b") == []  # the chat is still owned by the in-flight update 2
    queue_store.record_delivered(second.id, "a", NOW)
    [replayed] = claim(queue_store, "b")
    assert (replayed.id, replayed.attempts, replayed.budget_from) == (head.id, 0, NOW + 100)
    assert replayed.last_error is None


def test_drop_keeps_the_update_id_but_never_forwards_it(queue_store):
    fill(queue_store, [(1, 7), (3, 8)])
    for update in claim(queue_store):
        queue_store.record_dead(update.id, "a", "HTTP 404")
    assert queue_store.drop_dead(None) == 2
    assert queue_store.dead_letters() == []
    assert queue_store.get_update("default", 1)["state"] == STORED
    assert claim(queue_store, now=NOW + 10_000) == []
    assert queue_store.replay_dead(None, NOW) == 0


def test_replay_and_drop_touch_only_dead_letters_named(queue_store):
    fill(queue_store, [(1, 7), (3, 8), (5, 9)])
    first, second, third = claim(queue_store)
    queue_store.record_dead(first.id, "a", "x")
    queue_store.record_dead(second.id, "a", "x")
    assert queue_store.replay_dead([second.id, third.id], NOW) == 1
    assert queue_store.queued_update(second.id).state == PENDING
    assert queue_store.queued_update(first.id).state == DEAD
    assert queue_store.drop_dead([]) == 0


def test_store_only_updates_are_never_claimed(queue_store):
    enqueue(queue_store, 1, 7, forward=False)
    assert claim(queue_store) == []
    assert queue_store.queue_stats(["default"], NOW)[0].depth == 0


def test_chat_heads_report_each_waiting_chat_once(queue_store):
    fill(queue_store, [(1, 7), (2, 7), (3, 8), (4, 7)])
    heads = queue_store.chat_heads()
    assert [(h.head.update_id, h.waiting) for h in heads] == [(1, 3), (3, 1)]
