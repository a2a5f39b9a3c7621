"""The store contract, run against both backends (SQLite file, PostgreSQL database):
ingest claims and dedup, retention, queue figures, and the forwarder's queue verbs."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.storage import DEAD, DELIVERED, PENDING, STORED, IncomingUpdate

NOW = 1_800_000_000.0
HOUR = 3600.0


def incoming(
    update_id: int, bot: str = "default", at: float = NOW, body: bytes = b"{}", chat: int = 5
) -> IncomingUpdate:
    return IncomingUpdate(bot, update_id, "message", str(chat), body, at, True)


def claim(store, owner="a", now=NOW, limit=10, lease=30.0, bot="default"):
    return store.claim_due(bot, now, limit, now + lease, owner)


def fill(store, ids_and_chats):
    for update_id, chat in ids_and_chats:
        store.record_update(incoming(update_id, at=NOW - 10, chat=chat), forward=True)


def set_all(store, state: str, delivered_at: float) -> None:
    with store.write() as conn:
        conn.execute("UPDATE updates SET state = ?, delivered_at = ?", (state, delivered_at))


# -- ingest: claim by unique key, dedup ---------------------------------------------------
def test_first_record_claims_and_second_is_a_duplicate(any_store):
    assert any_store.record_update(incoming(1), forward=True) is True
    assert any_store.record_update(incoming(1, body=b'{"x": 1}'), forward=True) is False
    row = any_store.get_update("default", 1)
    assert (row["state"], bytes(row["body"])) == (PENDING, b"{}")
    assert any_store.get_update("default", 2) is None


def test_store_only_mode_keeps_updates_as_stored(any_store):
    any_store.record_update(incoming(1), forward=False)
    assert any_store.get_update("default", 1)["state"] == STORED


def test_concurrent_writers_from_many_threads_claim_each_id_once(any_store):
    ids = list(range(300)) * 3
    with ThreadPoolExecutor(max_workers=24) as pool:
        claimed = list(pool.map(lambda i: any_store.record_update(incoming(i), True), ids))
    assert sum(claimed) == 300
    assert any_store.count_updates() == 300
    assert any_store.count_updates("other") == 0


def test_two_stores_on_one_database_share_dedup_under_a_race(open_url):
    stores = [open_url(), open_url()]
    wins: list[list[bool]] = [[], []]
    barrier = threading.Barrier(2)

    def racer(index: int) -> None:
        barrier.wait(10)
        wins[index] = [stores[index].record_update(incoming(i), True) for i in range(200)]

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [a + b for a, b in zip(*wins, strict=True)] == [1] * 200


def test_migrations_are_idempotent_across_reopen(open_url):
    open_url().record_update(incoming(1), forward=True)
    assert open_url().count_updates() == 1


# -- retention ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("state", "age_hours", "forgotten"),
    [
        (DELIVERED, 26, True),
        (DELIVERED, 24, False),  # still inside the 25 h dedup window
        (STORED, 26, True),
        (PENDING, 100, False),  # never forget what has not been delivered
        (DEAD, 100, False),  # dead letters stay until an operator drops them
    ],
)
def test_retention_forgets_only_settled_updates_past_the_window(
    any_store, state, age_hours, forgotten
):
    any_store.record_update(incoming(1, at=NOW - age_hours * HOUR), forward=True)
    set_all(any_store, state, NOW - age_hours * HOUR)
    any_store.prune(NOW, dedup_retention=25 * HOUR, payload_retention=24 * HOUR)
    assert (any_store.get_update("default", 1) is None) is forgotten


def test_payload_is_purged_after_delivery_but_the_key_still_dedups(any_store):
    any_store.record_update(incoming(1, at=NOW - 24.5 * HOUR, body=b'{"s": 1}'), forward=True)
    set_all(any_store, DELIVERED, NOW - 24.2 * HOUR)
    assert any_store.prune(NOW, dedup_retention=25 * HOUR, payload_retention=24 * HOUR) == (0, 1)
    assert any_store.get_update("default", 1)["body"] is None
    assert any_store.record_update(incoming(1), forward=True) is False


def test_queue_stats_per_bot(any_store):
    any_store.record_update(incoming(1, at=NOW - 60), forward=True)
    any_store.record_update(incoming(2, at=NOW - 10), forward=True)
    any_store.record_update(incoming(3, bot="other"), forward=False)
    stats = {s.bot: s for s in any_store.queue_stats(["default", "other", "idle"], NOW)}
    assert (stats["default"].depth, stats["default"].oldest_age_seconds) == (2, 60)
    assert (stats["other"].depth, stats["other"].last_received_at) == (0, NOW)
    assert (stats["idle"].depth, stats["idle"].last_received_at) == (0, None)


def test_readiness_write_succeeds(any_store):
    any_store.check_writable()
    any_store.check_writable()  # the heartbeat row is updated in place


# -- forwarder queue ------------------------------------------------------------------------
def test_only_the_oldest_update_of_each_chat_is_claimed(any_store):
    fill(any_store, [(1, 7), (2, 7), (3, 8), (4, 7), (5, 9)])
    claimed = claim(any_store)
    assert [u.update_id for u in claimed] == [1, 3, 5]
    assert all(u.body for u in claimed)


def test_a_leased_chat_belongs_to_its_claimer_alone(any_store):
    fill(any_store, [(1, 7), (2, 7), (3, 8)])
    assert [u.update_id for u in claim(any_store, "a", limit=1)] == [1]
    assert [u.update_id for u in claim(any_store, "b")] == [3]
    assert claim(any_store, "c") == []


def test_an_expired_lease_is_taken_over_and_the_old_claimer_is_fenced_off(any_store):
    fill(any_store, [(1, 7), (2, 7)])
    [first] = claim(any_store, "crashed", lease=5)
    [again] = claim(any_store, "b", now=NOW + 6)
    assert again.id == first.id
    assert not any_store.record_delivered(first.id, "crashed", NOW + 7)
    assert any_store.record_delivered(first.id, "b", NOW + 7)
    assert any_store.queued_update(first.id).state == DELIVERED


def test_the_leases_of_a_dead_owner_can_be_ended_at_once(any_store):
    fill(any_store, [(1, 7), (2, 7), (3, 8)])
    claim(any_store, "dead", limit=1)
    claim(any_store, "alive")
    assert sorted(any_store.lease_holders(NOW)) == ["alive", "dead"]
    assert any_store.expire_leases("dead") == 1
    assert any_store.lease_holders(NOW) == ["alive"]
    [again] = claim(any_store, "successor")  # no waiting for the lease to run out
    assert (again.update_id, again.state) == (1, "delivering")
    assert not any_store.record_delivered(again.id, "dead", NOW)  # the dead owner is fenced off


def test_a_delivered_update_is_never_claimed_again(any_store):
    fill(any_store, [(1, 7), (2, 7)])
    [first] = claim(any_store)
    assert any_store.record_delivered(first.id, "a", NOW)
    [second] = claim(any_store, "b", now=NOW + 10_000)
    assert second.update_id == 2
    assert any_store.record_delivered(second.id, "b", NOW)
    assert claim(any_store, "c", now=NOW + 10_000) == []
    assert any_store.queued_update(first.id).attempts == 1


def test_a_retry_waits_for_its_time_and_blocks_only_its_chat(any_store):
    fill(any_store, [(1, 7), (2, 7), (3, 8)])
    head, other = claim(any_store)
    assert any_store.record_retry(head.id, "a", NOW + 60, "HTTP 500")
    assert any_store.record_delivered(other.id, "a", NOW)
    assert claim(any_store, now=NOW + 59) == []
    [retried] = claim(any_store, now=NOW + 60)
    assert (retried.update_id, retried.attempts, retried.last_error) == (1, 1, "HTTP 500")


def test_a_dead_letter_unblocks_its_chat_and_shows_in_the_counts(any_store):
    fill(any_store, [(1, 7), (2, 7)])
    [head] = claim(any_store)
    assert any_store.record_dead(head.id, "a", "HTTP 502: bad gateway")
    assert [u.update_id for u in claim(any_store)] == [2]
    [stats] = any_store.queue_stats(["default"], NOW)
    assert (stats.depth, stats.dead_letters) == (1, 1)
    [letter] = any_store.dead_letters()
    assert (letter.update_id, letter.state, letter.last_error) == (1, DEAD, "HTTP 502: bad gateway")


def test_a_held_chat_stays_owned_until_released(any_store):
    fill(any_store, [(1, 7), (2, 7)])
    [head] = claim(any_store)
    assert any_store.record_delivered(head.id, "a", NOW, hold=True)
    assert claim(any_store, "b") == []
    assert any_store.release(head.id, "a")
    assert [u.update_id for u in claim(any_store, "b")] == [2]


def test_replay_restarts_the_budget_and_puts_the_letter_first_in_its_chat(any_store):
    fill(any_store, [(1, 7), (2, 7)])
    [head] = claim(any_store)
    any_store.record_dead(head.id, "a", "HTTP 500")
    [second] = claim(any_store)
    assert any_store.replay_dead([head.id], NOW + 100) == 1
    assert claim(any_store, "b") == []  # the chat is still owned by the in-flight update 2
    any_store.record_delivered(second.id, "a", NOW)
    [replayed] = claim(any_store, "b")
    assert (replayed.id, replayed.attempts, replayed.budget_from) == (head.id, 0, NOW + 100)
    assert replayed.last_error is None


def test_drop_keeps_the_update_id_but_never_forwards_it(any_store):
    fill(any_store, [(1, 7), (3, 8)])
    for update in claim(any_store):
        any_store.record_dead(update.id, "a", "HTTP 404")
    assert any_store.drop_dead(None) == 2
    assert any_store.dead_letters() == []
    assert any_store.get_update("default", 1)["state"] == STORED
    assert claim(any_store, now=NOW + 10_000) == []
    assert any_store.replay_dead(None, NOW) == 0


def test_replay_and_drop_touch_only_dead_letters_named(any_store):
    fill(any_store, [(1, 7), (3, 8), (5, 9)])
    first, second, third = claim(any_store)
    any_store.record_dead(first.id, "a", "x")
    any_store.record_dead(second.id, "a", "x")
    assert any_store.replay_dead([second.id, third.id], NOW) == 1
    assert any_store.queued_update(second.id).state == PENDING
    assert any_store.queued_update(first.id).state == DEAD
    assert any_store.drop_dead([]) == 0


def test_store_only_updates_are_never_claimed(any_store):
    any_store.record_update(incoming(1, chat=7), forward=False)
    assert claim(any_store) == []
    assert any_store.queue_stats(["default"], NOW)[0].depth == 0


def test_chat_heads_report_each_waiting_chat_once(any_store):
    fill(any_store, [(1, 7), (2, 7), (3, 8), (4, 7)])
    heads = any_store.chat_heads()
    assert [(h.head.update_id, h.waiting) for h in heads] == [(1, 3), (3, 1)]


def test_two_claimers_racing_never_own_one_chat_together_and_keep_its_order(open_url):
    """Two stores (replicas) claim and deliver concurrently: per chat one owner at a time."""
    stores = [open_url(), open_url()]
    fill(stores[0], [(i, i % 6) for i in range(1, 121)])
    delivered: list[tuple[str, int]] = []
    lock, barrier = threading.Lock(), threading.Barrier(2)

    def claimer(index: int) -> None:
        store, owner = stores[index], f"replica{index}"
        barrier.wait(10)
        for _ in range(400):
            batch = claim(store, owner, limit=3)
            for update in batch:
                with lock:
                    delivered.append((update.chat_key, update.update_id))
                assert store.record_delivered(update.id, owner, NOW)
            if len(delivered) == 120:
                return

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(u for _, u in delivered) == list(range(1, 121))  # each once
    for chat in {c for c, _ in delivered}:
        in_chat = [u for c, u in delivered if c == chat]
        assert in_chat == sorted(in_chat)  # never two owners: the chat's order is kept
