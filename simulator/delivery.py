"""Webhook delivery for one bot, with Telegram's semantics.

One queue per chat (or per user / poll for chat-less types, see policy.queue_key), one update in
flight per queue, strict update_id order inside a queue, queues in parallel up to the webhook's
max_connections. Failures retry at once, then back off; expired updates are dropped.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp

from simulator import policy
from simulator.journal import Journal, Pending
from simulator.webhook_client import AttemptResult, encode_update, open_session, post_update
from simulator.webhook_settings import WebhookSettings

SWEEP_EVERY = 1.0
STOP_GRACE = 2.0
# Telegram closes a webhook that has answered 410 Gone for this long.
GONE_TIMEOUT = 23 * 3600

ReplyHandler = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]


class Delivery:
    def __init__(
        self,
        time_factor: float,
        webhook_timeout: float,
        rng: random.Random,
        on_reply: ReplyHandler,
        ca_file: str | None = None,
    ) -> None:
        self.time_factor = time_factor
        self.ca_file = ca_file
        self.webhook_timeout = webhook_timeout
        self.rng = rng
        self.on_reply = on_reply
        self.settings: WebhookSettings | None = None
        self.ip = ""
        self.last_error_date = 0
        self.last_error_message = ""
        self.queues: dict[str, deque[Pending]] = {}
        self.journal = Journal()
        self.arrived = asyncio.Event()
        self._heap: list[tuple[float, int, str]] = []
        self._due: dict[str, float] = {}
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._runner: asyncio.Task[None] | None = None
        self._last_sweep = 0.0
        self._first_gone = 0.0
        self._stopped = False

    # -- queue ---------------------------------------------------------------------------

    def enqueue(self, item: Pending) -> None:
        queue = self.queues.setdefault(item.key, deque())
        queue.append(item)
        if len(queue) == 1 and item.key not in self._in_flight:
            self._schedule(item.key, time.monotonic())
        self.arrived.set()
        self._ensure_runner()

    @property
    def in_flight_count(self) -> int:
        return len(self._in_flight)

    def pending_count(self) -> int:
        """Queued plus in flight, expired ones already gone (Telegram's tqueue size)."""
        self._sweep(time.monotonic())
        return sum(len(queue) for queue in self.queues.values())

    def pending_updates(self) -> list[Pending]:
        self._sweep(time.monotonic())
        return sorted((p for q in self.queues.values() for p in q), key=lambda p: p.update_id)

    def confirm_below(self, offset: int) -> None:
        """getUpdates offset semantics: forget every update with a smaller id."""
        for key in list(self.queues):
            kept = deque(p for p in self.queues[key] if p.update_id >= offset)
            self._replace_queue(key, kept)

    async def clear(self) -> None:
        """drop_pending_updates: Telegram closes the webhook first, then empties the queue."""
        await self._close()
        self.queues.clear()
        self._heap.clear()
        self._due.clear()

    # -- webhook ----------------------------------------------------------------------------

    async def set_webhook(self, settings: WebhookSettings, ip: str) -> None:
        """A new webhook: fresh connections, fresh retry state, last error forgotten."""
        await self._close()
        self.settings, self.ip = settings, ip
        self.last_error_date, self.last_error_message = 0, ""
        self._first_gone = 0.0
        self._session = open_session(settings, ip, self.ca_file)
        # Telegram's new WebhookActor reloads the queue with fresh retry state.
        self._restart_schedule()
        self._ensure_runner()

    async def delete_webhook(self) -> None:
        await self._close()
        self.settings, self.ip = None, ""
        self.last_error_date, self.last_error_message = 0, ""

    async def stop(self) -> None:
        """Cancel everything this delivery runs and close its connections (bounded)."""
        self._stopped = True
        tasks = [*self._in_flight.values(), *self._side_tasks]
        if self._runner is not None:
            tasks.append(self._runner)
        await cancel_all(tasks)
        self._in_flight.clear()
        await self._close()

    async def _close(self) -> None:
        # Answers still in flight are lost; those updates stay queued and go out again later.
        await cancel_all(list(self._in_flight.values()))
        now = time.monotonic()
        for key in list(self._in_flight):
            del self._in_flight[key]
            self._schedule(key, now)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _restart_schedule(self) -> None:
        now = time.monotonic()
        self._heap.clear()
        self._due.clear()
        for key, queue in self.queues.items():
            queue[0].fail_count, queue[0].delay = 0, 1
            self._schedule(key, now)

    # -- scheduling -------------------------------------------------------------------------

    def _schedule(self, key: str, at: float) -> None:
        # A queue sits in the heap only while its head waits; an in-flight queue is re-added
        # when its attempt ends. That is what keeps one update per chat in flight.
        if self.queues.get(key):
            self._due[key] = at
            heapq.heappush(self._heap, (at, next(self._seq), key))
            self._wake.set()

    def _ensure_runner(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while not self._stopped:
            self._wake.clear()
            now = time.monotonic()
            if now - self._last_sweep >= SWEEP_EVERY:
                self._sweep(now)
            self._launch(now)
            await wait_event(self._wake, self._sleep_for(now))

    def _sleep_for(self, now: float) -> float:
        if self._heap and self.settings is not None:
            return min(max(self._heap[0][0] - now, 0.001), SWEEP_EVERY)
        return SWEEP_EVERY

    def _launch(self, now: float) -> None:
        if self.settings is None or self._session is None:
            return
        while self._heap and len(self._in_flight) < self.settings.max_connections:
            at, _, key = self._heap[0]
            # Entries are never removed from the heap, only superseded by a newer time.
            if self._due.get(key) != at or key in self._in_flight:
                heapq.heappop(self._heap)  # superseded entry
                continue
            if at > now:
                return
            heapq.heappop(self._heap)
            del self._due[key]
            head = self._live_head(key, now)
            if head is not None:
                task = asyncio.get_running_loop().create_task(self._attempt(head))
                self._in_flight[key] = task

    def _live_head(self, key: str, now: float) -> Pending | None:
        queue = self.queues.get(key)
        while queue and queue[0].expires_at < now:
            self.journal.record(queue.popleft(), "expired", None)
        if not queue:
            self.queues.pop(key, None)
            return None
        return queue[0]

    def _sweep(self, now: float) -> None:
        """Drop expired updates anywhere in the queues (Telegram's tqueue garbage collection)."""
        self._last_sweep = now
        for key, queue in list(self.queues.items()):
            if key in self._in_flight or all(p.expires_at >= now for p in queue):
                continue
            for item in queue:
                if item.expires_at < now:
                    self.journal.record(item, "expired", None)
            self._replace_queue(key, deque(p for p in queue if p.expires_at >= now))

    def _replace_queue(self, key: str, kept: deque[Pending]) -> None:
        if kept:
            self.queues[key] = kept
            if key not in self._due and key not in self._in_flight:
                self._schedule(key, time.monotonic())
        else:
            self.queues.pop(key, None)
            self._due.pop(key, None)

    # -- one attempt --------------------------------------------------------------------

    async def _attempt(self, item: Pending) -> None:
        assert self.settings is not None and self._session is not None
        item.attempt += 1
        body = encode_update(item.update)
        result = await post_update(self._session, self.settings, body, self.webhook_timeout)
        self._in_flight.pop(item.key, None)
        now = time.monotonic()
        if result.ok:
            self._on_success(item, result, now)
        else:
            self._on_failure(item, result, now)
        self._wake.set()

    def _on_success(self, item: Pending, result: AttemptResult, now: float) -> None:
        self._first_gone = 0.0
        self._pop_head(item, now)
        self.journal.remember(item)
        self.journal.record(item, "delivered", result)
        if result.reply is not None:
            task = asyncio.get_running_loop().create_task(self.on_reply(result.reply))
            self._side_tasks.add(task)
            task.add_done_callback(self._side_tasks.discard)

    def _on_failure(self, item: Pending, result: AttemptResult, now: float) -> None:
        self.last_error_date = int(time.time())
        self.last_error_message = result.error or ""
        cap = self.rng.randint(policy.MAX_RESEND_TIMEOUT, 2 * policy.MAX_RESEND_TIMEOUT)
        wait, delay = policy.next_retry(item.fail_count, item.delay, result.retry_after, cap)
        scaled = wait * self.time_factor
        # Telegram drops the update instead of scheduling an attempt after its expiry.
        if policy.is_expired(now, scaled, item.expires_at):
            self._pop_head(item, now)
            self.journal.record(item, "expired", result)
        else:
            item.fail_count, item.delay = item.fail_count + 1, delay
            self._schedule(item.key, now + scaled)
            self.journal.record(item, "failed", result, retry_in=scaled)
        self._track_gone(result.status, now)

    def _track_gone(self, status: int | None, now: float) -> None:
        if status != 410:
            self._first_gone = 0.0
        elif not self._first_gone:
            self._first_gone = now
        elif now > self._first_gone + GONE_TIMEOUT * self.time_factor:
            task = asyncio.get_running_loop().create_task(self.delete_webhook())
            self._side_tasks.add(task)
            task.add_done_callback(self._side_tasks.discard)

    def _pop_head(self, item: Pending, now: float) -> None:
        queue = self.queues.get(item.key)
        if queue and queue[0] is item:
            queue.popleft()
        if queue:
            self._schedule(item.key, now)
        else:
            self.queues.pop(item.key, None)


async def wait_event(event: asyncio.Event, timeout: float) -> None:
    """Wait for `event` at most `timeout` s. Unlike wait_for on 3.11, never swallows a cancel."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()


async def cancel_all(tasks: list[asyncio.Task[None]], grace: float = STOP_GRACE) -> None:
    """Cancel tasks and wait for them, but never longer than `grace` seconds."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=grace)
