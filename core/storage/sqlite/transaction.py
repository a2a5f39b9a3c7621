"""SQLite write transactions without SQLite's busy handler (see `immediate`).

SQLite's busy handler sleeps in coarse steps (p99 in the hundreds of ms); the group-commit
writer (`core/storage/writer.py`) and every short write transaction begin here instead.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def immediate(conn: sqlite3.Connection, timeout: float) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE with short retries instead of SQLite's sleeping busy handler."""
    deadline = time.monotonic() + timeout
    delay = 0.0002
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.004)
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text
