"""Privacy at rest (issue 17): message content is gone from the store once an update is
delivered, and never reaches a log line, DEBUG included."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.logs import FORMAT
from core.storage import DELIVERED
from forwarder.dispatcher import Dispatcher
from tests.helpers.forward_kit import states
from tests.helpers.support import make_update, wait_until

CANARIES = {
    "text": "CANARY-text-4b1d",
    "caption": "CANARY-caption-93e0",
    "phone": "+15550100987",
    "contact": "CANARY-contact-a7c2",
    "user": "CANARY-user-5f11",
    "username": "canary_user_e2d9",
    "latitude": "12.3456789",
}
HOUR = 3600.0
USER = {"id": 4242, "is_bot": False, "first_name": CANARIES["user"], "username": "canary_user_e2d9"}


def canary_updates() -> list[dict]:
    contact = {"phone_number": CANARIES["phone"], "first_name": CANARIES["contact"]}
    kinds = [
        {"text": CANARIES["text"]},
        {"caption": CANARIES["caption"], "photo": [{"file_id": "f1", "file_unique_id": "u1"}]},
        {"contact": contact},
        {"location": {"latitude": float(CANARIES["latitude"]), "longitude": 1.5}},
    ]
    updates = []
    for n, fields in enumerate(kinds, start=1):
        update = make_update(n, chat_id=USER["id"], **{"from": USER}, **fields)
        if "text" not in fields:
            update["message"].pop("text")
        updates.append(update)
    return updates


class Lines(logging.Handler):
    """Every record, formatted as the appliance writes it (exceptions included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter(FORMAT))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_log() -> Iterator[Lines]:
    root, lines = logging.getLogger(), Lines()
    level = root.level
    root.addHandler(lines)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(lines)
    root.setLevel(level)


@pytest.fixture
def retention_hours() -> float:
    return 0.0


@pytest.fixture
def settings(make_settings, bot_backend, retention_hours):
    """The app and the forwarder share this: a real temp SQLite, forwarding to the backend."""
    return make_settings(
        forward_url=bot_backend.url,
        payload_retention_hours=retention_hours,
        log_level="DEBUG",
        forward_timeout_seconds=2,
        http_timeout_seconds=2,
    )


def deliver(store, settings) -> None:
    dispatcher = Dispatcher(store, settings)
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: states(store) == {DELIVERED: 4}, timeout=20, what="all delivered")
    finally:
        dispatcher.stop()
        thread.join(timeout=30)
    assert not thread.is_alive(), "dispatcher did not stop"


def file_bytes(db: Path) -> bytes:
    """The database and whatever WAL it still has, after a truncating checkpoint."""
    conn = sqlite3.connect(db)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0, "checkpoint blocked"
    finally:
        conn.close()
    siblings = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-journal")]
    return b"".join(path.read_bytes() for path in siblings if path.exists())


def found(data: bytes) -> list[str]:
    return [name for name, value in CANARIES.items() if value.encode() in data]


@pytest.mark.parametrize("retention_hours", [0.0, 2.0])
def test_canaries_leave_the_sqlite_file_after_delivery_and_never_reach_a_debug_log(
    settings, post_update, store, bot_backend, debug_log, retention_hours
):
    updates = canary_updates()
    assert set(found(json.dumps(updates).encode())) == set(CANARIES), "each canary is sent"
    for update in updates:
        assert post_update(update).status_code == 200
    db = Path(settings.db)
    assert set(found(file_bytes(db))) == set(CANARIES), "stored whole until delivered"
    deliver(store, settings)
    assert sorted(bot_backend.processed_ids()) == [1, 2, 3, 4]
    if retention_hours:  # kept whole for the window, then the hourly prune drops them
        assert set(found(file_bytes(db))) == set(CANARIES)
        later = time.time() + retention_hours * HOUR + 1
        assert store.prune(later, 25 * HOUR, retention_hours * HOUR) == (0, 4)
    assert found(file_bytes(db)) == []
    rows = store.read("SELECT update_id, type, chat_key, body FROM updates")
    assert sorted(tuple(row) for row in rows) == [(n, "message", "4242", None) for n in range(1, 5)]
    assert any(" DEBUG " in line for line in debug_log.lines), "DEBUG lines were captured"
    assert found("\n".join(debug_log.lines).encode()) == []
