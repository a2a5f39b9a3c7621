"""Outcomes of every chat, committed together: a group commit inside the event loop.

While one batch is being committed (on the store thread), the outcomes that come in meanwhile
wait and go in the next one, so at any rate there is about one transaction in flight and one
thread hop per batch instead of one per delivery.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from core.storage import Outcome, QueueStore, Recorded, StoreError


class Outbox:
    def __init__(self, store: QueueStore, inline: QueueStore | None = None) -> None:
        self.store = store
        self.inline = inline  # tried first, in the loop (see Dispatcher._call)
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
                    results = await self._commit(loop, outcomes)
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

    async def _commit(self, loop: asyncio.AbstractEventLoop, outcomes: list) -> list[Recorded]:
        if self.inline is not None:
            try:
                return self.inline.record_outcomes(outcomes)
            except StoreError:  # the lock is taken: wait for it off the event loop
                pass
        return await loop.run_in_executor(self._thread, self.store.record_outcomes, outcomes)

    def close(self) -> None:
        self._thread.shutdown(wait=True)
