"""SQLite write serialisation: one writer per process, group commit of the requests waiting.

Threads that each open their own write transaction contend for SQLite's single write lock,
and SQLite's busy handler sleeps in coarse steps (p99 in the hundreds of ms). Instead, request
threads hand their row to one writer thread, which commits everything waiting in a single
transaction and wakes each caller with its own result.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager

from core.storage import StoreError

log = logging.getLogger(__name__)
MAX_BATCH = 256


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


class GroupWriter:
    """Runs `sql` for each submitted parameter tuple; one transaction per batch."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], sql: str, timeout: float) -> None:
        self._connect = connect
        self._sql = sql
        self._timeout = timeout
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid = 0

    def submit(self, params: tuple) -> int:
        """Return the statement's rowcount once committed; raise StoreError on failure."""
        self._ensure_thread()
        future: Future = Future()
        self._queue.put((params, future))
        try:
            return future.result(timeout=self._timeout + 1.0)
        except FutureTimeout:
            raise StoreError("store write timed out") from None

    def _ensure_thread(self) -> None:
        # Threads do not survive fork: a gunicorn worker starts its own writer on first use.
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._queue = queue.SimpleQueue()
                thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
                thread.start()
                self._pid = os.getpid()

    def _run(self) -> None:
        conn = None
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                conn = conn or self._connect()
                self._commit(conn, batch)
            except Exception as exc:  # the edge of this thread: fail the batch, keep running
                log.warning("store write failed: %s", exc)
                if conn is not None:
                    conn.close()
                conn = None
                for _, future in batch:
                    if not future.done():
                        future.set_exception(StoreError(f"store write failed: {exc}"))

    def _commit(self, conn: sqlite3.Connection, batch: list) -> None:
        with immediate(conn, self._timeout):
            counts = [conn.execute(self._sql, params).rowcount for params, _ in batch]
        for (_, future), count in zip(batch, counts, strict=True):
            if not future.done():
                future.set_result(count)
