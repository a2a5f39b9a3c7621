"""Write serialisation shared by both backends: one writer thread per process, group commit.

Threads that each open their own write transaction contend for the database (SQLite's single
write lock and its coarse busy sleeps; a PostgreSQL round trip and fsync per commit). Instead,
request threads hand their row to one writer thread, which commits everything waiting in a
single transaction and wakes each caller with its own result.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from core.storage.model import StoreError, StoreUnreachable

log = logging.getLogger(__name__)
MAX_BATCH = 256
# (connection, [params, ...]) -> one result per params, committed in one transaction.
CommitBatch = Callable[[Any, list[tuple]], list[Any]]


class GroupWriter:
    """Commits each batch of submitted parameter tuples with `commit` on its own connection."""

    def __init__(self, connect: Callable[[], Any], commit: CommitBatch, timeout: float) -> None:
        self._connect = connect
        self._commit = commit
        self._timeout = timeout
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid = 0

    @property
    def wait_limit(self) -> float:
        """How long a caller waits for its row before answering 503."""
        return self._timeout + 1.0

    def submit(self, params: tuple) -> Any:
        """Return this row's result once committed; raise StoreError on failure."""
        try:
            return self.submit_future(params).result(timeout=self.wait_limit)
        except FutureTimeout:
            raise StoreError("store write timed out") from None

    def submit_future(self, params: tuple) -> Future:
        """Queue a row without waiting (an event loop awaits the future instead)."""
        self._ensure_thread()
        future: Future = Future()
        self._queue.put((params, future))
        return future

    def close(self) -> None:
        """Stop this process's writer thread and close its connection (idempotent)."""
        with self._lock:
            if self._pid == os.getpid():
                self._queue.put(None)
                self._pid = 0

    def _ensure_thread(self) -> None:
        # Threads do not survive fork: a gunicorn worker starts its own writer on first use.
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._queue = queue.SimpleQueue()
                thread = threading.Thread(
                    target=self._run, args=(self._queue,), name="store-writer", daemon=True
                )
                thread.start()
                self._pid = os.getpid()

    def _run(self, waiting: queue.SimpleQueue) -> None:
        conn = None
        while True:
            batch = [waiting.get()]
            while len(batch) < MAX_BATCH and batch[-1] is not None:
                try:
                    batch.append(waiting.get_nowait())
                except queue.Empty:
                    break
            if batch[-1] is None:  # close(): finish what was submitted before it, then stop
                batch.pop()
                conn = self._commit_all(conn, batch)
                if conn is not None:
                    conn.close()
                return
            conn = self._commit_all(conn, batch)

    def _commit_all(self, conn, batch: list):
        """Commit one batch and wake its callers; returns the connection to keep using."""
        if not batch:
            return conn
        try:
            conn = conn or self._connect()
            results = self._commit(conn, [params for params, _ in batch])
        except Exception as exc:  # the edge of this thread: fail the batch, keep running
            unreachable = isinstance(exc, StoreUnreachable)
            # A PostgreSQL error's DETAIL lines may quote the failing row, body included.
            reason = (str(exc).strip().splitlines() or [""])[0]
            if not unreachable:  # an outage was logged once, when it began
                log.warning("store write failed: %s", reason)
            if conn is not None:
                conn.close()  # a broken connection (server restarted) is replaced next batch
            kind = StoreUnreachable if unreachable else StoreError
            for _, future in batch:
                if not future.done():
                    future.set_exception(kind(f"store write failed: {reason}"))
            return None
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
        return conn
