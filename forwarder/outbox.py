"""Outcomes of every chat, committed together: a group commit inside the event loop.

While one batch is being committed (on the store thread), the outcomes that come in meanwhile
wait and go in the next one, so at any rate there is about one transaction in flight and one
thread hop per batch instead of one per delivery.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from core.storage import QueueStore
from core.storage.queue import Outcome, Recorded


class Outbox:
    def __init__(self, store: QueueStore) -> None:
        self.store = store
        self._waiting: list[tuple[Outcome, asyncio.Future[Recorded]]] = []
        self._committing: asyncio.Task | None = None
        # Its own thread (and so its own SQLite connection): claims never hold up outcomes.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="forward-outcomes")

    async def record(self, outcome: Outcome) -> Recorded:
        """Commit `outcome` (fenced, see core/storage/queue.py); StoreError when it failed."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((outcome, future))
        if self._committing is None:
            self._committing = asyncio.create_task(self._commit_all())
        return await future

    async def _commit_all(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                outcomes = [outcome for outcome, _ in batch]
                try:
                    results = await loop.run_in_executor(
                        self._thread, self.store.record_outcomes, outcomes
                    )
                except Exception as exc:  # StoreError mostly: every waiter hears of it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._committing = None

    def close(self) -> None:
        self._thread.shutdown(wait=True)
