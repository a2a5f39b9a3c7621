"""Leadership of the monitor among replicas sharing one store: one of them polls and alerts.

The lease lives in the store (`take_lease`); the holder renews it every third of its length
and believes itself leader only until its last successful renewal plus the lease, measured
on its own monotonic clock, so a leader cut off from the store stops before anyone can take
over. A replica killed outright is replaced once its lease has run out (at most one lease
plus one renewal interval later), or at once by its successor on the same host, which can
see that the holder's process is gone; a clean stop releases the lease at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from core.identity import is_dead_here, process_identity
from core.storage import LeaseStore, StoreError, StoreUnreachable

log = logging.getLogger(__name__)
LEASE_NAME = "monitor"


class Leadership:
    def __init__(
        self,
        store: LeaseStore,
        seconds: float,
        on_gain: Callable[[], None] = lambda: None,
        holder: str | None = None,
    ) -> None:
        self.store = store
        self.seconds = seconds
        self.holder = holder or process_identity()
        self.on_gain = on_gain
        self._valid_until = 0.0  # time.monotonic() deadline
        self._lock = threading.Lock()

    def held(self) -> bool:
        return time.monotonic() < self._valid_until

    def renew(self) -> bool:
        """Take or renew the lease; the scheduler's edge, so it never raises."""
        started, was_held = time.monotonic(), self.held()
        try:
            taken = self._take(time.time())
        except StoreError as exc:  # keep what we had; it runs out by itself
            if not isinstance(exc, StoreUnreachable):  # an outage is logged by the store
                log.warning("cannot renew the monitor lease: %s", exc)
            return self.held()
        except Exception:
            log.exception("renewing the monitor lease failed")
            return self.held()
        with self._lock:
            self._valid_until = started + self.seconds if taken else 0.0
        if taken and not was_held:
            log.info("monitor leadership taken by %s", self.holder)
            self.on_gain()
        elif was_held and not taken:
            log.warning("monitor leadership lost: another replica holds the lease")
        return taken

    def _take(self, now: float) -> bool:
        if self.store.take_lease(LEASE_NAME, self.holder, now, self.seconds):
            return True
        holder = self.store.lease_holder(LEASE_NAME, now)
        if holder is None or not is_dead_here(holder):
            return False
        log.info("monitor lease holder %s is no longer running here: taking over", holder)
        return self.store.take_lease(LEASE_NAME, self.holder, now, self.seconds, replacing=holder)

    def release(self) -> None:
        with self._lock:
            self._valid_until = 0.0
        try:
            self.store.release_lease(LEASE_NAME, self.holder)
        except StoreError as exc:
            log.warning("cannot release the monitor lease (it will expire): %s", exc)


def run_if_leading(leadership: Leadership | None, job: Callable[..., None], *args) -> None:
    """What the scheduler runs: `job(*args)` while this process leads (or runs alone);
    a follower skips its turn silently. Module-level, so every job is a named function."""
    if leadership is None or leadership.held():
        job(*args)
