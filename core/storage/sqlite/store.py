"""SQLite backend: connections, migrations, and the ingest claim.

WAL mode, one writer thread per process for the ingest path (group commit), short read
transactions on per-thread connections. The other verbs live in backend-neutral mixins
(`storage_ingest`, `storage_queue`, `storage_monitor`, `storage_lease`) shared with the
PostgreSQL backend, over these connections.
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

from core.storage.console import ConsoleVerbs
from core.storage.ingest import HEARTBEAT, IngestVerbs
from core.storage.lease import LeaseVerbs
from core.storage.model import StoreError
from core.storage.monitor import MonitorVerbs
from core.storage.polling import PollVerbs
from core.storage.queue import QueueVerbs
from core.storage.samples import SampleVerbs
from core.storage.sqlite.location import check_location
from core.storage.sqlite.schema import MIGRATIONS
from core.storage.sqlite.transaction import immediate
from core.storage.wakeup import WORK, DatagramListener, Doorbell, Listener, new_work
from core.storage.writer import GroupWriter

# Disk "not full" for /readyz: room for a burst of maximum-size updates and the WAL.
MIN_FREE_BYTES = 4 * 1024 * 1024
INSERT_UPDATE = (
    "INSERT INTO updates (bot, update_id, type, chat_key, received_at, conforms, body, state)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (bot, update_id) DO NOTHING"
)


class SqliteStore(
    IngestVerbs, QueueVerbs, MonitorVerbs, LeaseVerbs, PollVerbs, SampleVerbs, ConsoleVerbs
):
    lock_rows = ""  # SQLite has one writer at a time: no row locks to take or skip

    def __init__(self, path: str, *, timeout: float = 5.0, synchronous: str = "NORMAL") -> None:
        self.path = path
        self.timeout = timeout
        self.synchronous = synchronous
        self._local = threading.local()
        check_location(path)  # before creating anything: a wrong path leaves nothing behind
        self._writer = GroupWriter(lambda: self._connect(write=True), self._commit_batch, timeout)
        self._doorbell = Doorbell(path)
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
        conn.execute("PRAGMA secure_delete=ON")  # a dropped body is zeroed, not left in free space
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
        try:
            with open(self.path + ".migrate-lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                conn = self._connect(write=True)
                try:
                    for migrations in MIGRATIONS:
                        migrations.apply(Database(conn))
                finally:
                    conn.close()
        except sqlite3.Error as exc:
            raise StoreError(f"store migration of {self.path} failed: {exc}") from exc

    def close(self) -> None:
        self._writer.close()
        self._doorbell.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            self._local.pid = None

    # -- ingest ------------------------------------------------------------------------
    def _commit_batch(self, conn: sqlite3.Connection, batch: list[tuple]) -> list[int]:
        with immediate(conn, self.timeout):
            claimed = [conn.execute(INSERT_UPDATE, params).rowcount for params in batch]
        kinds = new_work(batch, claimed)
        if kinds:  # after COMMIT: a forwarder woken earlier sees nothing
            self._doorbell.ring(kinds)
        return claimed

    # -- wake-ups (see core/storage/wakeup.py) -------------------------------------------
    def announce_work(self) -> None:
        """Wake the forwarders of this store: updates became deliverable (call after COMMIT)."""
        self._doorbell.ring()

    def listen_for_work(self, wake: Callable[[], None], wants: tuple[str, ...] = WORK) -> Listener:
        return DatagramListener(self.path, wake, wants).start()

    def without_waiting(self) -> SqliteStore:
        """A twin whose writes fail at once (StoreError) instead of waiting for the lock: the
        forwarder runs its statements inline in its event loop and waits on a thread only when
        the lock is taken (a thread hop costs more than the statement)."""
        twin = SqliteStore(self.path, timeout=self.timeout, synchronous=self.synchronous)
        twin.timeout = 0.0  # connections are opened on first use, with this
        return twin

    def check_writable(self) -> None:
        """Raise StoreError unless a real write succeeds and the disk has room."""
        stats = os.statvfs(Path(self.path).parent)
        free = stats.f_bavail * stats.f_frsize
        if free < MIN_FREE_BYTES:
            raise StoreError(f"disk almost full: {free} bytes free")
        with self.write() as conn:
            conn.execute(HEARTBEAT, (time.time(),))
