"""Wake-ups across replicas: the forwarder LISTENs on its own connection, and the commits that
make work NOTIFY (postgres/store.py). A lost connection is retried every second; the loss and
the recovery are logged once each, not per attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import psycopg

from core.storage.postgres.reachability import first_line
from core.storage.wakeup import WORK, Listener, is_wanted

log = logging.getLogger(__name__)
CHANNEL = "tgwebhook_queue"  # LISTEN/NOTIFY: new work for the forwarders of every replica


class NotifyListener(Listener):
    """LISTEN on its own connection; after every (re)connect it wakes the forwarder once,
    because notifications sent while it was not listening are gone."""

    RECONNECT_SECONDS = 1.0

    def __init__(
        self, url: str, timeout: float, wake: Callable[[], None], wants: tuple[str, ...] = WORK
    ) -> None:
        super().__init__(wake, wants)
        self.url, self.timeout = url, timeout

    def _run(self) -> None:
        self.failing = False  # logged once when LISTEN is lost and once when it is back
        while not self.closed.is_set():
            try:
                self._listen()
            except psycopg.Error as exc:
                if not self.failing:
                    log.warning("LISTEN %s lost (%s); reconnecting", CHANNEL, first_line(exc))
                self.failing = True
            self.closed.wait(self.RECONNECT_SECONDS)

    def _listen(self) -> None:
        with psycopg.connect(
            self.url,
            autocommit=True,
            connect_timeout=max(1, round(self.timeout)),
            application_name="tgwebhook-forwarder-listen",
        ) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            if self.failing:
                log.info("LISTEN %s again", CHANNEL)
                self.failing = False
            self.wake()
            while not self.closed.is_set():
                notes = list(conn.notifies(timeout=0.5, stop_after=1))
                if any(is_wanted(note.payload, self.wants) for note in notes):
                    self.wake()
