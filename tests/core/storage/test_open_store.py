"""SQLite-only store behaviour: lock timeouts, per-thread connections (the backend-neutral
contract runs on both backends in tests/storage)."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from core.storage import IncomingUpdate, StoreError, open_store

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
