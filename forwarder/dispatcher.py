"""The delivery engine: claim due chat heads when work is committed, deliver each chat in turn.

One event loop. A claim round runs when a writer announces new work (core/storage/wakeup.py:
a datagram on one host, LISTEN/NOTIFY across PostgreSQL replicas), when a chat frees a slot,
when a retry this process scheduled comes due, and otherwise every `forward_poll_seconds` as a
safety net (a lost wake-up costs at most that). Per bot, at most `forward_concurrency` chats are
in flight, one update each (Telegram's max_connections model). A claimed chat keeps its lease
from one update to the next: the outcome's transaction leases the next one (see courier.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from core.config import Settings
from core.identity import is_dead_here, process_identity
from core.storage import (
    PENDING,
    UNCLAIM,
    Outcome,
    QueuedUpdate,
    QueueStore,
    StoreError,
    StoreUnreachable,
)
from forwarder.courier import Courier
from forwarder.outage import OutageWatch
from forwarder.outbox import Outbox
from forwarder.transport import Backend

log = logging.getLogger(__name__)
LEASE_MARGIN_SECONDS = 5.0
MAX_DRAIN_SECONDS = 25.0  # below the supervisor's 30 s grace
# Updates one chat gets in a row before its slot goes back to the oldest waiting chat (when
# chats are waiting for a slot at all).
MAX_RUN = 16
REPLY_THREADS = 16


def lease_seconds(settings: Settings) -> float:
    """Longer than one delivery can take: the POST (connect + read timeouts) and a reply."""
    return (
        2 * settings.forward_timeout_seconds + settings.http_timeout_seconds + LEASE_MARGIN_SECONDS
    )


def drain_seconds(settings: Settings) -> float:
    return min(
        settings.forward_timeout_seconds + settings.http_timeout_seconds + 1.0, MAX_DRAIN_SECONDS
    )


def take_over_dead_leases(store: QueueStore, now: float) -> int:
    """Free the chats of forwarders on this host whose process is gone (a crash, a kill -9):
    their in-flight updates go out again now instead of when their leases run out."""
    freed = 0
    for owner in store.lease_holders(now):
        if is_dead_here(owner):
            count = store.expire_leases(owner)
            log.warning(
                "forwarder %s is gone: taking over its %d in-flight update(s)", owner, count
            )
            freed += count
    return freed


class Dispatcher:
    def __init__(
        self,
        store: QueueStore,
        settings: Settings,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.settings = settings
        self.owner = owner or process_identity()
        self.clock = clock
        self.bots = [name for name, bot in settings.bots.items() if bot.forward_url]
        self.in_flight = dict.fromkeys(self.bots, 0)
        self.poll_seconds = settings.forward_poll_seconds
        self.watch = OutageWatch()
        self._stopping = False  # a plain flag: set from a signal handler, no locks taken
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._due = math.inf  # earliest retry this process scheduled
        self._starved = False  # the last round had more due chats than free slots
        self._pokes = 0  # wake-ups received, to see one that came during a chat's turn
        self._chats: set[asyncio.Task] = set()
        self._store_thread = ThreadPoolExecutor(1, thread_name_prefix="forward-store")
        self._inline: QueueStore | None = None

    def stop(self) -> None:
        """Stop claiming; `run` then drains in-flight deliveries and returns (signal-safe)."""
        self._stopping = True
        self.poke()

    def poke(self) -> None:
        """Wake the claim loop from any thread (a wake-up listener, a signal handler)."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already finished
                loop.call_soon_threadsafe(self._woken)

    def _woken(self) -> None:
        self._pokes += 1
        self._wake.set()

    def run(self) -> bool:
        """Deliver until `stop`; True when every in-flight delivery finished in the grace."""
        try:
            return asyncio.run(self._run())
        finally:
            self._store_thread.shutdown(wait=False)

    async def _run(self) -> bool:
        self._loop = asyncio.get_running_loop()
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._store_thread, take_over_dead_leases, self.store, self.clock()
            )
        except StoreError as exc:  # then the leases simply run out
            log.warning("could not look for leases of dead forwarders: %s", exc)
        # Only rings for `pending` rows: a polling bot's update is no work of ours.
        listener = self.store.listen_for_work(self.poke, (PENDING,)) if self.bots else None
        backends = {
            bot: Backend(self.settings.forward_timeout_seconds, self.settings.forward_concurrency)
            for bot in self.bots
        }
        self._inline = self.store.without_waiting()
        outbox = Outbox(self.store, self._inline)
        with ThreadPoolExecutor(REPLY_THREADS, thread_name_prefix="forward-reply") as replies:
            courier = Courier(
                outbox,
                self.settings,
                self.owner,
                self.watch,
                backends,
                replies,
                self._lease_until,
                self._retry_at,
                self.clock,
            )
            try:
                await self._deliver_until_stopped(courier)
                return await self._drain(drain_seconds(self.settings))
            finally:
                if listener is not None:
                    listener.close()  # a LISTEN thread notices within half a second
                for backend in backends.values():
                    await backend.close()
                outbox.close()
                if self._inline is not None:
                    self._inline.close()

    async def _deliver_until_stopped(self, courier: Courier) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._wake.clear()
            # The safety net counts from this round's start, whatever the rest of the turn
            # waits for (a slow store, the look-ahead): the next round is at most one poll away.
            poll_at = loop.time() + self.poll_seconds
            try:
                claimed = await self._claim_round(courier)
            except Exception:  # the edge: log and keep delivering, never take serve down
                log.exception("claim round failed")
                claimed = 1  # no idle look-ahead after a failure; retry at the next wake-up
            idle = not claimed and not any(self.in_flight.values())
            due = await self._idle_until(poll_at) if idle else math.inf
            await self._sleep(min(due - self.clock(), poll_at - loop.time()))

    async def _claim_round(self, courier: Courier) -> int:
        now = self.clock()
        if self._due <= now:
            self._due = math.inf  # the round below claims what came due
        until = now + lease_seconds(self.settings)
        claimed, self._starved = 0, False
        for bot in self.bots:
            free = self.settings.forward_concurrency - self.in_flight[bot]
            if free <= 0:
                claimed, self._starved = claimed + 1, True  # a finishing chat wakes us
                continue
            try:
                updates = await self._call("claim_due", bot, now, free, until, self.owner)
            except StoreError as exc:  # the store is busy or down: try again next round
                if not isinstance(exc, StoreUnreachable):  # an outage is logged by the store
                    log.warning("claiming updates of bot %s failed: %s", bot, exc)
                continue
            for update in updates:
                self.in_flight[bot] += 1
                task = asyncio.create_task(self._chat(courier, update))
                self._chats.add(task)
                task.add_done_callback(self._chats.discard)
            claimed += len(updates)
            self._starved |= len(updates) == free
        return claimed

    async def _idle_until(self, poll_at: float) -> float:
        """Nothing was due: when will something be (a retry or lease of any forwarder)? Only a
        shortcut, so a store slower than the poll interval just goes without it."""
        left = poll_at - asyncio.get_running_loop().time()
        try:
            return await asyncio.wait_for(self._look_ahead(), max(0.0, left))
        except TimeoutError:
            return self._due

    async def _look_ahead(self) -> float:
        due = self._due
        for bot in self.bots:
            try:
                when = await self._call("next_due", bot, self.clock())
            except StoreError:
                continue
            due = min(due, when if when is not None else math.inf)
        return due

    async def _sleep(self, seconds: float) -> None:
        """Until woken, for at most `seconds` (the poll) and no later than a retry we scheduled."""
        timeout = max(0.0, min(seconds, self._due - self.clock()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _chat(self, courier: Courier, update: QueuedUpdate) -> None:
        """One chat's turn: its updates one after another while we hold its lease."""
        bot, run, pokes = update.bot, 0, self._pokes
        next_update: QueuedUpdate | None = update
        try:
            while next_update is not None:
                if self._stopping or (run >= MAX_RUN and self._starved):
                    await courier.outbox.record(
                        Outcome(UNCLAIM, next_update.id, self.owner, self.clock())
                    )
                    self._wake.set()  # its next update is due now, like any other chat's
                    break
                pokes = self._pokes
                next_update = await courier.deliver(next_update)
                run += 1
        except Exception:  # the edge: one update's surprise must not stop the others
            log.exception(
                "delivering update %s of bot %s failed; its lease will expire",
                next_update.update_id if next_update else "?",
                bot,
            )
        finally:
            self.in_flight[bot] -= 1
            # A slot is free for a waiting chat, or work arrived while this chat was leased
            # (a claim round then skipped it, and its last outcome may have missed it).
            if self._starved or self._pokes != pokes:
                self._wake.set()

    def _lease_until(self) -> float | None:
        return None if self._stopping else self.clock() + lease_seconds(self.settings)

    def _retry_at(self, at: float) -> None:
        if at < self._due:
            self._due = at
            self._wake.set()  # the loop's sleep was measured without this retry

    async def _call(self, verb: str, *args: Any) -> Any:
        """`store.<verb>(*args)`: inline when that cannot wait for a lock, else on a thread."""
        if self._inline is not None:
            try:
                return getattr(self._inline, verb)(*args)
            except StoreError:  # the lock is taken: wait for it off the event loop
                pass
        call = functools.partial(getattr(self.store, verb), *args)
        return await asyncio.get_running_loop().run_in_executor(self._store_thread, call)

    async def _drain(self, grace: float) -> bool:
        if self._chats:
            await asyncio.wait(set(self._chats), timeout=grace)
        left = sum(self.in_flight.values())
        if left:
            log.warning(
                "stopping with %d deliveries still in flight; their leases will expire "
                "and they will be delivered again",
                left,
            )
            for task in list(self._chats):
                task.cancel()
            await asyncio.gather(*self._chats, return_exceptions=True)
        return not left
