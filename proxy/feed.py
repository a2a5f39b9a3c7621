"""getUpdates served from the store: one parked long poll per bot, woken by the same commit
wake-up the forwarder uses (core/storage/wakeup.py), so any web worker can hold the poll."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from core.storage import STORED, PollStore
from proxy import envelope
from proxy.envelope import Answer
from proxy.params import Params
from proxy.polling import (
    PollRequest,
    Previous,
    offset_is_sane,
    poll_request,
    result_json,
    throttled,
)

MAX_RESPONSE_BYTES = 1 << 22  # Telegram stops the array near 4 MiB
BATCH_DELAY = 0.002  # after a wake-up, wait this long so a burst is answered as one batch
SAFETY_POLL = 1.0  # a lost wake-up (all slots taken) costs at most this
CONFLICT_PACE = 3.0  # Telegram answers one 409 at once per 3 s, the others after 3 s
TERMINATED = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


class Feed:
    """Per process: the wake-up listener and the anti-busy-loop; the 409 pacing is the store's."""

    def __init__(self, store: PollStore, known: tuple[str, ...], clock: Callable[[], float]):
        self.store = store
        self.known = known
        self.clock = clock
        self.previous: dict[str, Previous] = {}
        self._changed: asyncio.Event | None = None
        self._listener: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def get_updates(self, bot: str, params: Params) -> Answer:
        self._listen()
        request = poll_request(params, self.known)
        request = throttled(request, self.previous.get(bot), time.monotonic())
        self.previous[bot] = Previous(request.offset, time.monotonic())
        generation = await self._call(self.store.take_poll, bot, self.clock())
        await self._call(self.store.announce_work)  # parked polls elsewhere see they lost
        self._wake()
        await self._apply(bot, request)
        return await self._serve(bot, request, generation)

    async def conflict(self, bot: str, description: str) -> Answer:
        at_once = await self._call(self.store.pace_conflict, bot, self.clock(), CONFLICT_PACE)
        if not at_once:
            await asyncio.sleep(CONFLICT_PACE)
        return envelope.error(409, description)

    async def _apply(self, bot: str, request: PollRequest) -> None:
        if request.allowed is not None:
            await self._call(self.store.save_allowed_updates, bot, request.allowed, self.clock())
        if request.offset < 0:
            await self._call(self.store.confirm_all_but, bot, -request.offset, self.clock())
        elif request.offset > 0:
            newest = await self._call(self.store.newest_update_id, bot)
            if offset_is_sane(request.offset, newest):
                await self._call(self.store.confirm_below, bot, request.offset, self.clock())

    async def _serve(self, bot: str, request: PollRequest, generation: int) -> Answer:
        deadline = time.monotonic() + request.timeout
        while True:
            changed = self._event()
            cursor = await self._call(self.store.poll_cursor, bot)
            if cursor.generation != generation:
                return await self.conflict(bot, TERMINATED)
            batch = await self._call(
                self.store.unconfirmed_updates, bot, request.limit, MAX_RESPONSE_BYTES, cursor
            )
            left = deadline - time.monotonic()
            if batch or left <= 0:
                return envelope.ok_raw(result_json([(u.update_id, u.body) for u in batch]))
            try:
                await asyncio.wait_for(changed.wait(), min(left, SAFETY_POLL))
                await asyncio.sleep(BATCH_DELAY)
            except TimeoutError:
                pass

    async def _call(self, verb: Callable[..., Any], *args: Any) -> Any:
        # Store calls may wait for a lock: never in the event loop.
        return await asyncio.to_thread(verb, *args)

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _wake(self) -> None:
        """Every poll parked in this process re-reads the store (a fresh event for the next)."""
        woken, self._changed = self._event(), asyncio.Event()
        woken.set()

    def _listen(self) -> None:
        if self._listener is None:
            self._loop = asyncio.get_running_loop()
            self._listener = self.store.listen_for_work(self._wake_threadsafe, (STORED,))

    def _wake_threadsafe(self) -> None:
        # The SQLite listener calls from the loop, PostgreSQL's from its own thread.
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
