"""Is the PostgreSQL server reachable from this process? One answer shared by the pool, the
group-commit writer and the LISTEN connection, so an outage is logged once when it begins and
once when it ends (not once per request or retry), and while it lasts callers fail at once
instead of each waiting out a connect timeout.

While down, one caller at a time is let through to try a real connection (a probe), at most
every PROBE_SECONDS: a refused connect costs microseconds, so recovery is seen within that.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
from psycopg_pool import PoolTimeout

from core.storage.model import StoreUnreachable

log = logging.getLogger("tgwebhook.store")
PROBE_SECONDS = 0.5
# Connection failures that retrying will not cure: the server answered and refused us.
MISCONFIGURED = (
    "authentication failed",
    "does not exist",  # database or role
    "no pg_hba.conf entry",
    "no password supplied",
    "password is required",
    "permission denied for database",
)


def is_misconfigured(exc: BaseException) -> bool:
    return isinstance(exc, psycopg.OperationalError) and any(
        sign in str(exc) for sign in MISCONFIGURED
    )


def is_connection_lost(exc: BaseException) -> bool:
    """A failure of the connection itself (no server answer: sqlstate None), the pool's wait
    for one, or the server going away (class 08, 57P: shutdown), not a statement's error."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, psycopg.OperationalError) or is_misconfigured(exc):
        return False
    state = exc.sqlstate
    return state is None or state.startswith(("08", "57P"))


class Reachability:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._reason = ""
        self._next_probe = 0.0
        self.generation = 0  # +1 at each recovery: connections opened before it are suspect

    def is_down(self) -> bool:
        return self._down_since is not None

    def admit(self) -> None:
        """Return if the caller may connect (up, or its turn to probe); else raise at once."""
        if self._down_since is None:
            return
        with self._lock:
            now = time.monotonic()
            if self._down_since is not None and now < self._next_probe:
                raise StoreUnreachable(f"store unreachable: {self._reason}")
            self._next_probe = now + PROBE_SECONDS

    def went_down(self, exc: BaseException) -> None:
        with self._lock:
            reason = f"{type(exc).__name__}: {first_line(exc)}"
            if self._down_since is None:
                self._down_since = time.monotonic()
                self._next_probe = self._down_since  # the next caller probes at once
                log.error("store unreachable: %s", reason)
            self._reason = reason

    def came_back(self) -> None:
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is None:
                return
            lasted = time.monotonic() - self._down_since
            self._down_since = None
            self.generation += 1
        log.warning("store reachable again after %.1f s", lasted)


def first_line(exc: BaseException) -> str:
    """libpq's messages go on with hints on further lines; the first says what happened."""
    return (str(exc).strip().splitlines() or [""])[0]
