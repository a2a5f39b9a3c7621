"""Flood-shaping verbs: the bot's `flood_keys` rows, shared by every web worker and the
forwarder (all of them call Telegram for the same bot), on both backends.

One transaction per reservation: lock the call's rows (an upsert that changes nothing, in key
order so two reservations never wait on each other crosswise), read them, decide with the pure
policy (core/flood.py), and write the new arrival times only when the call is admitted.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from core.flood import Decision, FloodKey, KeyState, decide

# Takes the row lock on both backends (PostgreSQL locks the conflicting row of DO UPDATE);
# a row that does not exist yet is created with tat 0: never used, nothing blocked.
LOCK = (
    "INSERT INTO flood_keys (bot, key) VALUES (?, ?)"
    " ON CONFLICT (bot, key) DO UPDATE SET tat = flood_keys.tat"
)
READ = "SELECT key, tat, blocked_until FROM flood_keys WHERE bot = ?"
SAVE_TAT = "UPDATE flood_keys SET tat = ? WHERE bot = ? AND key = ?"


class FloodStore(Protocol):
    """The proxy and the forwarder's webhook replies (listed here: protocols.py is full)."""

    def reserve_send(
        self, bot: str, keys: tuple[FloodKey, ...], now: float, max_wait: float
    ) -> Decision: ...

    def record_flood(self, bot: str, key: str, until: float) -> None: ...

    def prune_flood_keys(self, now: float) -> int: ...


class FloodVerbs:
    """Part of QueueVerbs (the forwarder's webhook replies are shaped too), so of both stores;
    uses their `write`."""

    write: Callable[[], AbstractContextManager[Any]]

    def reserve_send(
        self, bot: str, keys: tuple[FloodKey, ...], now: float, max_wait: float
    ) -> Decision:
        """When the call may go (`wait` seconds from `now`), or refused past `max_wait`."""
        names = sorted({key.name for key in keys})
        with self.write() as conn:
            conn.executemany(LOCK, [(bot, name) for name in names])
            marks = ", ".join("?" for _ in names)
            rows = conn.execute(f"{READ} AND key IN ({marks})", (bot, *names)).fetchall()
            states = {row[0]: KeyState(float(row[1]), float(row[2])) for row in rows}
            decision = decide(keys, states, now, max_wait)
            if decision.admitted:
                conn.executemany(SAVE_TAT, [(tat, bot, name) for name, tat in decision.tats])
            return decision

    def record_flood(self, bot: str, key: str, until: float) -> None:
        """Telegram answered 429: nothing goes for `key` before `until` (a later block wins)."""
        with self.write() as conn:
            conn.execute(
                "INSERT INTO flood_keys (bot, key, blocked_until) VALUES (?, ?, ?)"
                " ON CONFLICT (bot, key) DO UPDATE SET blocked_until ="
                " CASE WHEN flood_keys.blocked_until > excluded.blocked_until"
                " THEN flood_keys.blocked_until ELSE excluded.blocked_until END",
                (bot, key, until),
            )

    def prune_flood_keys(self, now: float) -> int:
        """Forget keys that hold nothing any more: no arrival time and no block in the future
        (such a row decides exactly as a missing one), so the table keeps only live keys."""
        with self.write() as conn:
            return conn.execute(
                "DELETE FROM flood_keys WHERE tat < ? AND blocked_until < ?", (now, now)
            ).rowcount
