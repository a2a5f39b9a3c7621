"""PostgreSQL backend: several appliance replicas share one dedup table, queue and alert state.

The verbs are the backend-neutral mixins the SQLite store uses too (`storage_ingest`,
`storage_queue`, `storage_monitor`, `storage_lease`); this module supplies what differs:
a connection pool with server-side timeouts, SQL marks rewritten for psycopg, row locks
skipped by competing claimers, and the group-commit writer's batch as one pipelined
`INSERT ... ON CONFLICT DO NOTHING RETURNING id` per row in one transaction.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from core.storage.console import ConsoleVerbs
from core.storage.ingest import HEARTBEAT, IngestVerbs
from core.storage.lease import LeaseVerbs
from core.storage.model import StoreError, StoreMisconfigured, StoreUnreachable
from core.storage.monitor import MonitorVerbs
from core.storage.polling import PollVerbs
from core.storage.postgres.listener import CHANNEL, NotifyListener
from core.storage.postgres.reachability import (
    Reachability,
    first_line,
    is_connection_lost,
    is_misconfigured,
)
from core.storage.postgres.schema import migrate
from core.storage.queue import QueueVerbs
from core.storage.samples import SampleVerbs
from core.storage.wakeup import WORK, Listener, encode_kinds, new_work
from core.storage.writer import GroupWriter

INSERT_UPDATE = (
    "INSERT INTO updates (bot, update_id, type, chat_key, received_at, conforms, body, state)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (bot, update_id) DO NOTHING"
    " RETURNING id"
)
log = logging.getLogger(__name__)
# The pool warns at each reconnect attempt; an outage is logged once (postgres/reachability.py).
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
POOL_SIZE = 10  # per process: gthread threads, forwarder couriers, scrapes
# A string literal (kept, with % doubled), a `?` mark, a `:name` mark (not a `::` cast), a %.
MARKS = re.compile(r"'(?:[^']|'')*'|\?|(?<![:\w]):([A-Za-z_]\w*)|%")


@lru_cache(maxsize=512)
def dialect(sql: str) -> str:
    """The shared verbs' SQLite-style marks (`?`, `:name`) as psycopg's (`%s`, `%(name)s`)."""

    def mark(match: re.Match) -> str:
        token = match.group(0)
        if token.startswith("'"):
            return token.replace("%", "%%")
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return f"%({match.group(1)})s"

    return MARKS.sub(mark, sql)


class Row(tuple):
    """A result row like sqlite3.Row: by position, by column name, and `dict(row)`."""

    _index: dict[str, int]

    def __new__(cls, values, index: dict[str, int]):
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key):
        return tuple.__getitem__(self, self._index[key] if isinstance(key, str) else key)

    def keys(self) -> list[str]:
        return list(self._index)


def row_factory(cursor) -> Callable[[Any], Row]:
    index = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: Row(values, index)


class Session:
    """A connection inside one transaction, with the sqlite3-like calls the mixins make."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Any = ()) -> psycopg.Cursor:
        return self._conn.execute(dialect(sql), params)

    def executemany(self, sql: str, params_seq: Any) -> psycopg.Cursor:
        cursor = self._conn.cursor()
        cursor.executemany(dialect(sql), params_seq)
        return cursor


class PostgresStore(
    IngestVerbs, QueueVerbs, MonitorVerbs, LeaseVerbs, PollVerbs, SampleVerbs, ConsoleVerbs
):
    # Competing outbox claimers skip rows another transaction is claiming, not re-claim them.
    lock_rows = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str, *, timeout: float = 5.0, tolerate_outage: bool = True) -> None:
        self.url = url
        self.timeout = timeout
        millis = max(1, int(timeout * 1000))
        given = conninfo_to_dict(url).get("options") or ""  # e.g. -csearch_path=tenant
        self._kwargs: dict[str, Any] = {
            "autocommit": True,  # transactions are explicit (conn.transaction())
            "row_factory": row_factory,
            "connect_timeout": max(1, round(timeout)),
            # Server-side bounds: a stuck query or a lock wait fails instead of hanging.
            "options": f"{given} -c statement_timeout={millis} -c lock_timeout={millis}".strip(),
        }
        self._lock = threading.RLock()
        self._pool: ConnectionPool | None = None
        self._pid = 0
        self._generation = 0  # of self.reachability, when the pool was opened
        self._migrated = False
        self.reachability = Reachability()
        self._writer = GroupWriter(self._admitted_connect, self._commit_batch, timeout)
        self._first_connect(tolerate_outage)

    # -- connections -------------------------------------------------------------------
    def _first_connect(self, tolerate_outage: bool) -> None:
        """Migrate now if the server answers; if it is down, start anyway (503 until it is
        back, then migrate lazily). Refusing us (password, database) is fatal: say so now."""
        try:
            self._connect().close()
        except StoreUnreachable:
            if not tolerate_outage:
                raise  # logged by self.reachability; else the first use once it is back migrates
        except psycopg.Error as exc:
            raise StoreMisconfigured(f"store unusable: {first_line(exc)}") from exc

    def _connect(self) -> psycopg.Connection:
        """A new connection, the schema migrated on it the first time; notes reachability."""
        try:
            conn = psycopg.connect(self.url, **self._kwargs)
        except psycopg.Error as exc:
            if is_misconfigured(exc):
                raise StoreMisconfigured(f"store refused us: {first_line(exc)}") from exc
            if lost := self._unreachable(exc):
                raise lost from exc
            raise
        try:
            if not self._migrated:
                self.migrate_on(conn)
        except psycopg.Error as exc:
            conn.close()
            if lost := self._unreachable(exc):
                raise lost from exc
            raise
        self.reachability.came_back()
        return conn

    def _admitted_connect(self) -> psycopg.Connection:
        self.reachability.admit()  # fails at once while the server is known to be down
        return self._connect()

    def _unreachable(self, exc: psycopg.Error, what: str = "connect") -> StoreUnreachable | None:
        """What to raise instead of `exc` when the server is gone (noted, so the outage is
        logged once); None when `exc` is an error of its own."""
        if not is_connection_lost(exc):
            return None
        self.reachability.went_down(exc)
        self._drop_pool()
        return StoreUnreachable(f"store {what} failed: {type(exc).__name__}: {first_line(exc)}")

    def _connections(self) -> ConnectionPool:
        # Pool threads do not survive fork: each process opens its own pool on first use. After
        # an outage a new pool replaces the old one, whose reconnect backoff may have grown.
        reach, pool = self.reachability, self._pool
        if pool is not None and self._pid == os.getpid() and self._generation == reach.generation:
            return pool
        reach.admit()
        with self._lock:
            pool = self._pool
            if pool is None or self._pid != os.getpid() or self._generation != reach.generation:
                self._connect().close()  # the probe: raises while the server is still down
                self._drop_pool()
                pool = self._pool = self._open_pool()
                self._pid, self._generation = os.getpid(), reach.generation
        return pool

    def _drop_pool(self) -> None:
        """Close this process's pool: while the server is down it would only retry (and log
        each attempt) in the background; a new one opens when it answers again."""
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                # Off this thread: closing waits for the pool's threads, busy reconnecting.
                threading.Thread(target=self._pool.close, name="pool-close", daemon=True).start()
            self._pool = None

    def _open_pool(self) -> ConnectionPool:
        return ConnectionPool(
            self.url,
            kwargs=self._kwargs,
            min_size=1,
            max_size=POOL_SIZE,
            timeout=self.timeout,
            open=True,
            name="tgwebhook",
            check=ConnectionPool.check_connection,  # reconnect after a failover
        )

    @contextmanager
    def _session(self, what: str) -> Iterator[Session]:
        try:
            with self._connections().connection() as conn, conn.transaction():
                yield Session(conn)
        except psycopg.Error as exc:  # PoolTimeout is one too: the server is unreachable
            if lost := self._unreachable(exc, what):
                raise lost from exc
            raise StoreError(f"store {what} failed: {type(exc).__name__}: {exc}") from exc

    def read(self, sql: str, params: Any = ()) -> list[Any]:
        with self._session("read") as session:
            return session.execute(sql, params).fetchall()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One short write transaction; psycopg errors become StoreError."""
        with self._session("write") as session:
            yield session

    def transact(self, work: Callable[[Session], Any]) -> Any:
        with self.write() as session:
            return work(session)

    def migrate_on(self, conn: psycopg.Connection) -> None:
        """Migrate once per process object (under the advisory lock: replicas and workers
        arriving together queue up on it, the first does the work)."""
        migrate(conn)  # idempotent: a second thread racing here finds nothing to do
        self._migrated = True

    def close(self) -> None:
        self._writer.close()
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            self._pool, self._pid = None, 0

    # -- ingest ------------------------------------------------------------------------
    def _commit_batch(self, conn: psycopg.Connection, batch: list[tuple]) -> list[int]:
        """One transaction; executemany pipelines the rows (one network round trip)."""
        try:
            return self._insert_batch(conn, batch)
        except psycopg.Error as exc:
            if lost := self._unreachable(exc, "write"):
                raise lost from exc
            raise

    def _insert_batch(self, conn: psycopg.Connection, batch: list[tuple]) -> list[int]:
        with conn.transaction():
            cursor = conn.cursor()
            cursor.executemany(INSERT_UPDATE, batch, returning=True)
            claimed = [len(cursor.fetchall())]
            while cursor.nextset():
                claimed.append(len(cursor.fetchall()))
            kinds = new_work(batch, claimed)
            if kinds:  # delivered to listeners when this COMMITs
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, encode_kinds(kinds)))
        return claimed

    # -- wake-ups ----------------------------------------------------------------------
    def announce_work(self) -> None:
        """Wake the forwarders of every replica: updates became deliverable."""
        with self.write() as session:
            session.execute(f"NOTIFY {CHANNEL}")

    def listen_for_work(self, wake: Callable[[], None], wants: tuple[str, ...] = WORK) -> Listener:
        return NotifyListener(self.url, self.timeout, wake, wants).start()

    def without_waiting(self) -> None:
        """None: every statement is a network round trip, which never runs inline."""
        return None

    def check_writable(self) -> None:
        """Raise StoreError unless a real write succeeds (the server's disk is its concern)."""
        with self.write() as conn:
            conn.execute(HEARTBEAT, (time.time(),))
