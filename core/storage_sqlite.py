"""SQLite backend: connections, migrations, and the ingest / retention / health verbs.

WAL mode, one writer thread per process for the ingest path (group commit), short read
transactions on per-thread connections. Queue and monitor verbs live in sibling modules
(`storage_sqlite_queue`, `storage_sqlite_monitor`) as mixins over the same connections.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from core.storage import (
    DEAD,
    DELIVERED,
    DELIVERING,
    PENDING,
    STORED,
    IncomingUpdate,
    QueueStats,
    StoreError,
)
from core.storage_sqlite_monitor import MonitorVerbs
from core.storage_sqlite_queue import QueueVerbs
from core.storage_sqlite_schema import MIGRATIONS
from core.storage_sqlite_writer import GroupWriter, immediate

# Disk "not full" for /readyz: room for a burst of maximum-size updates and the WAL.
MIN_FREE_BYTES = 4 * 1024 * 1024
INSERT_UPDATE = (
    "INSERT OR IGNORE INTO updates (bot, update_id, type, chat_key, received_at, conforms, body,"
    " state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


class SqliteStore(QueueVerbs, MonitorVerbs):
    def __init__(self, path: str, *, timeout: float = 5.0, synchronous: str = "NORMAL") -> None:
        self.path = path
        self.timeout = timeout
        self.synchronous = synchronous
        self._local = threading.local()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._writer = GroupWriter(lambda: self._connect(write=True), INSERT_UPDATE, timeout)
        self.migrate()

    # -- connections -------------------------------------------------------------------
    def _connect(self, write: bool = False) -> sqlite3.Connection:
        # Writers never wait in SQLite's busy handler (see `immediate`); readers may.
        conn = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")  # may wait for a lock: still under the timeout
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        if write:
            conn.execute("PRAGMA busy_timeout=0")
        conn.row_factory = sqlite3.Row
        return conn

    def _conn(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.conn, local.pid = self._connect(write=True), os.getpid()
        return local.conn

    def read(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"store read failed: {exc}") from exc

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; sqlite errors become StoreError."""
        try:
            with immediate(self._conn(), self.timeout) as conn:
                yield conn
        except sqlite3.Error as exc:
            raise StoreError(f"store write failed: {exc}") from exc

    def transact(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        with self.write() as conn:
            return work(conn)

    def migrate(self) -> None:
        # Several workers may open the store at once; a file lock keeps migrations single.
        with open(self.path + ".migrate-lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            conn = self._connect(write=True)
            try:
                for migrations in MIGRATIONS:
                    migrations.apply(Database(conn))
            finally:
                conn.close()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            self._local.pid = None

    # -- ingest ------------------------------------------------------------------------
    def record_update(self, update: IncomingUpdate, forward: bool) -> bool:
        """Persist a new update; False when (bot, update_id) is already retained."""
        params = (
            update.bot, update.update_id, update.type, update.chat_key, update.received_at,
            int(update.conforms), update.body, PENDING if forward else STORED,
        )  # fmt: skip
        return self._writer.submit(params) == 1

    def check_writable(self) -> None:
        """Raise StoreError unless a real write succeeds and the disk has room."""
        stats = os.statvfs(Path(self.path).parent)
        free = stats.f_bavail * stats.f_frsize
        if free < MIN_FREE_BYTES:
            raise StoreError(f"disk almost full: {free} bytes free")
        with self.write() as conn:
            conn.execute(
                "INSERT INTO heartbeats (name, at) VALUES ('readyz', ?) "
                "ON CONFLICT (name) DO UPDATE SET at = excluded.at",
                (time.time(),),
            )

    def prune(
        self, now: float, dedup_retention: float, payload_retention: float
    ) -> tuple[int, int]:
        """Forget old update ids and purge delivered payloads; returns (forgotten, purged)."""
        with self.write() as conn:
            forgotten = conn.execute(
                "DELETE FROM updates WHERE received_at < ? AND state IN (?, ?)",
                (now - dedup_retention, DELIVERED, STORED),
            ).rowcount
            purged = conn.execute(
                "UPDATE updates SET body = NULL WHERE body IS NOT NULL AND state = ?"
                " AND delivered_at < ?",
                (DELIVERED, now - payload_retention),
            ).rowcount
        return forgotten, purged

    # -- health ------------------------------------------------------------------------
    def queue_stats(self, bots: list[str], now: float) -> list[QueueStats]:
        """Per-bot queue figures, each from an index (scrapes must stay cheap at millions of rows)."""
        return [self._queue_stats(bot, now) for bot in bots]

    def _queue_stats(self, bot: str, now: float) -> QueueStats:
        depth, oldest = self.read(
            "SELECT COUNT(*), MIN(received_at) FROM updates WHERE bot = ? AND state IN (?, ?)",
            (bot, PENDING, DELIVERING),
        )[0]
        dead = self.read("SELECT COUNT(*) FROM updates WHERE bot = ? AND state = ?", (bot, DEAD))
        last = self.read(
            "SELECT MAX(received_at) FROM updates WHERE bot = ? AND received_at > ?",
            (bot, now - 86400 * 7),
        )[0][0]
        return QueueStats(
            bot=bot,
            depth=int(depth),
            oldest_age_seconds=max(0.0, now - oldest) if oldest else 0.0,
            dead_letters=int(dead[0][0]),
            last_received_at=last,
        )

    def count_updates(self, bot: str | None = None) -> int:
        if bot is None:
            return self.read("SELECT COUNT(*) FROM updates")[0][0]
        return self.read("SELECT COUNT(*) FROM updates WHERE bot = ?", (bot,))[0][0]

    def get_update(self, bot: str, update_id: int) -> sqlite3.Row | None:
        rows = self.read("SELECT * FROM updates WHERE bot = ? AND update_id = ?", (bot, update_id))
        return rows[0] if rows else None
