"""The SQLite store: claims by INSERT OR IGNORE, group commit under threads, retention."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.storage import DELIVERED, PENDING, STORED, IncomingUpdate, StoreError, open_store

NOW = 1_800_000_000.0
HOUR = 3600.0


def incoming(
    update_id: int, bot: str = "default", at: float = NOW, body: bytes = b"{}"
) -> IncomingUpdate:
    return IncomingUpdate(bot, update_id, "message", "5", body, at, True)


@pytest.fixture
def db(tmp_path):
    store = open_store(str(tmp_path / "s.db"))
    yield store
    store.close()


def test_first_record_claims_and_second_is_a_duplicate(db):
    assert db.record_update(incoming(1), forward=True) is True
    assert db.record_update(incoming(1, body=b'{"x": 1}'), forward=True) is False
    row = db.get_update("default", 1)
    assert (row["state"], bytes(row["body"])) == (PENDING, b"{}")


def test_store_only_mode_keeps_updates_as_stored(db):
    db.record_update(incoming(1), forward=False)
    assert db.get_update("default", 1)["state"] == STORED


def test_concurrent_writers_from_many_threads_claim_each_id_once(db):
    ids = list(range(300)) * 3
    with ThreadPoolExecutor(max_workers=24) as pool:
        claimed = list(pool.map(lambda i: db.record_update(incoming(i), forward=True), ids))
    assert sum(claimed) == 300
    assert db.count_updates() == 300


def test_two_stores_on_one_file_share_dedup(tmp_path):
    first, second = open_store(str(tmp_path / "s.db")), open_store(str(tmp_path / "s.db"))
    assert first.record_update(incoming(9), forward=True)
    assert not second.record_update(incoming(9), forward=True)


@pytest.mark.parametrize(
    ("state", "age_hours", "forgotten"),
    [
        (DELIVERED, 26, True),
        (DELIVERED, 24, False),  # still inside the 25 h dedup window
        (STORED, 26, True),
        (PENDING, 100, False),  # never forget what has not been delivered
        ("dead", 100, False),  # dead letters stay until an operator drops them
    ],
)
def test_retention_forgets_only_settled_updates_past_the_window(db, state, age_hours, forgotten):
    db.record_update(incoming(1, at=NOW - age_hours * HOUR), forward=True)
    with db.write() as conn:
        conn.execute(
            "UPDATE updates SET state = ?, delivered_at = ?", (state, NOW - age_hours * HOUR)
        )
    db.prune(NOW, dedup_retention=25 * HOUR, payload_retention=24 * HOUR)
    assert (db.get_update("default", 1) is None) is forgotten


def test_payload_is_purged_after_delivery_but_the_key_still_dedups(db):
    db.record_update(incoming(1, at=NOW - 24.5 * HOUR, body=b'{"secret": "chat"}'), forward=True)
    with db.write() as conn:
        conn.execute(
            "UPDATE updates SET state = ?, delivered_at = ?", (DELIVERED, NOW - 24.2 * HOUR)
        )
    assert db.prune(NOW, dedup_retention=25 * HOUR, payload_retention=24 * HOUR) == (0, 1)
    assert db.get_update("default", 1)["body"] is None
    assert db.record_update(incoming(1), forward=True) is False


def test_queue_stats_per_bot(db):
    db.record_update(incoming(1, at=NOW - 60), forward=True)
    db.record_update(incoming(2, at=NOW - 10), forward=True)
    db.record_update(incoming(3, bot="other"), forward=False)
    stats = {s.bot: s for s in db.queue_stats(["default", "other", "idle"], NOW)}
    assert (stats["default"].depth, stats["default"].oldest_age_seconds) == (2, 60)
    assert (stats["other"].depth, stats["other"].last_received_at) == (0, NOW)
    assert (stats["idle"].depth, stats["idle"].last_received_at) == (0, None)


def test_migrations_are_idempotent_across_reopen(tmp_path):
    path = str(tmp_path / "s.db")
    open_store(path).record_update(incoming(1), forward=True)
    assert open_store(path).count_updates() == 1


def test_writes_fail_with_store_error_while_another_process_holds_the_lock(tmp_path):
    store = open_store(str(tmp_path / "s.db"), timeout=0.2)
    blocker = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError):
            store.record_update(incoming(1), forward=True)
        with pytest.raises(StoreError):
            store.check_writable()
    finally:
        blocker.execute("ROLLBACK")
    assert store.record_update(incoming(1), forward=True)


def test_each_thread_gets_its_own_connection(db):
    seen = []
    thread = threading.Thread(target=lambda: seen.append(db._conn()))
    thread.start()
    thread.join()
    assert seen[0] is not db._conn()
