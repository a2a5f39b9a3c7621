"""The delivery loop: claim due chat heads, hand them to worker threads, repeat.

Per bot, at most `forward_concurrency` chats are in flight, one update each (Telegram's
max_connections model). Workers are daemon threads, each with its own Courier (HTTP session),
so a stop can be bounded: after the drain grace the process exits and leftover leases expire.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from core.config import Settings
from core.identity import is_dead_here, process_identity
from core.storage import QueuedUpdate, StoreError
from forwarder.courier import Courier
from forwarder.outage import OutageWatch

log = logging.getLogger(__name__)
MIN_IDLE_SECONDS = 0.01
MAX_IDLE_SECONDS = 0.2  # worst added latency between the receiver's commit and a POST
LEASE_MARGIN_SECONDS = 5.0
MAX_DRAIN_SECONDS = 25.0  # below the supervisor's 30 s grace


def lease_seconds(settings: Settings) -> float:
    """Longer than one delivery can take: the POST (connect + read timeouts) and a reply."""
    return (
        2 * settings.forward_timeout_seconds + settings.http_timeout_seconds + LEASE_MARGIN_SECONDS
    )


def drain_seconds(settings: Settings) -> float:
    return min(
        settings.forward_timeout_seconds + settings.http_timeout_seconds + 1.0, MAX_DRAIN_SECONDS
    )


def take_over_dead_leases(store, now: float) -> int:
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
        store,
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
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[QueuedUpdate | None] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stopping = False  # a plain flag: set from a signal handler, no locks taken
        self._workers: list[threading.Thread] = []
        self.watch = OutageWatch()

    def stop(self) -> None:
        """Stop claiming; `run` then drains in-flight deliveries and returns (signal-safe)."""
        self._stopping = True

    def run(self) -> bool:
        """Deliver until `stop`; True when every in-flight delivery finished in the grace."""
        try:
            take_over_dead_leases(self.store, self.clock())
        except StoreError as exc:  # then the leases simply run out
            log.warning("could not look for leases of dead forwarders: %s", exc)
        self._start_workers()
        idle = MIN_IDLE_SECONDS
        while not self._stopping:
            try:
                claimed = self._claim_round()
            except Exception:  # the edge: log and keep delivering, never take serve down
                log.exception("claim round failed")
                claimed = 0
            if claimed:
                idle = MIN_IDLE_SECONDS
                continue
            self._wake.wait(idle)
            self._wake.clear()
            idle = min(idle * 2, MAX_IDLE_SECONDS)
        return self._drain(drain_seconds(self.settings))

    def _claim_round(self) -> int:
        now, lease_until = self.clock(), self.clock() + lease_seconds(self.settings)
        claimed = 0
        for bot in self.bots:
            with self._lock:
                free = self.settings.forward_concurrency - self.in_flight[bot]
            if free <= 0:
                continue
            try:
                updates = self.store.claim_due(bot, now, free, lease_until, self.owner)
            except StoreError as exc:  # the store is busy or down: try again next round
                log.warning("claiming updates of bot %s failed: %s", bot, exc)
                continue
            with self._lock:
                self.in_flight[bot] += len(updates)
            for update in updates:
                self._jobs.put(update)
            claimed += len(updates)
        return claimed

    def _start_workers(self) -> None:
        count = self.settings.forward_concurrency * len(self.bots)
        for n in range(count):
            worker = threading.Thread(target=self._work, name=f"forward-{n}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def _work(self) -> None:
        courier = Courier(self.store, self.settings, self.owner, self.watch, self.clock)
        try:
            while (update := self._jobs.get()) is not None:
                self._deliver(courier, update)
        finally:
            courier.close()

    def _deliver(self, courier: Courier, update: QueuedUpdate) -> None:
        try:
            courier.deliver(update)
        except Exception:  # the edge: one update's surprise must not kill the worker
            log.exception(
                "delivering update %s of bot %s failed; its lease will expire",
                update.update_id,
                update.bot,
            )
        finally:
            with self._lock:
                self.in_flight[update.bot] -= 1
            self._wake.set()

    def _drain(self, grace: float) -> bool:
        deadline = time.monotonic() + grace
        while self._busy() and time.monotonic() < deadline:
            self._wake.wait(0.05)
            self._wake.clear()
        for _ in self._workers:
            self._jobs.put(None)
        left = self._busy()
        if left:
            log.warning(
                "stopping with %d deliveries still in flight; their leases will expire "
                "and they will be delivered again",
                left,
            )
        return not left

    def _busy(self) -> int:
        with self._lock:
            return sum(self.in_flight.values())
