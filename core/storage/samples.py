"""Chart samples: one row per bot and interval, written by the monitor, read by the console.

The console's charts are drawn from these rows rather than from process memory, so an hour of
history survives a restart (Flower's oldest complaint). Each row counts what happened since the
bot's previous row; every figure comes from an index, so a sample stays cheap at millions of
stored updates (`updates_received` for arrivals, `updates_delivered` for deliveries).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from core.storage.model import QueueStats

COLUMNS = "bot, at, received, delivered, dead, queue_depth, oldest_age, lag_p99"
IN_INTERVAL = "bot = ? AND delivered_at >= ? AND delivered_at < ?"


@dataclass(frozen=True)
class Sample:
    """What one bot did in the interval that ends at `at` (counts), and its state at `at`."""

    bot: str
    at: float
    received: int = 0
    delivered: int = 0
    dead: int = 0
    queue_depth: int = 0
    oldest_age: float = 0.0
    lag_p99: float | None = None  # seconds from arrival to delivery; None: nothing delivered


class SampleVerbs:
    """Mixed into SqliteStore and PostgresStore; uses their `read`, `write` and `queue_stats`."""

    read: Callable[..., list[Any]]
    write: Callable[[], AbstractContextManager[Any]]
    queue_stats: Callable[[list[str], float, Collection[str]], list[QueueStats]]

    def measure_sample(self, bot: str, since: float, now: float, polls: bool = False) -> Sample:
        """The row for `bot` over [since, now): arrivals, deliveries and their p99 lag, plus
        the queue as it stands at `now` (a polling bot's: its unconfirmed updates)."""
        received = self.read(
            "SELECT COUNT(*) FROM updates WHERE bot = ? AND received_at >= ? AND received_at < ?",
            (bot, since, now),
        )[0][0]
        delivered = int(
            self.read(f"SELECT COUNT(*) FROM updates WHERE {IN_INTERVAL}", (bot, since, now))[0][0]
        )
        queue = self.queue_stats([bot], now, (bot,) if polls else ())[0]
        return Sample(
            bot=bot,
            at=now,
            received=int(received),
            delivered=delivered,
            dead=queue.dead_letters,
            queue_depth=queue.depth,
            oldest_age=queue.oldest_age_seconds,
            lag_p99=self._lag_p99(bot, since, now, delivered),
        )

    def _lag_p99(self, bot: str, since: float, now: float, delivered: int) -> float | None:
        if delivered == 0:
            return None
        # Nearest rank from the top: with n values the p99 has n - ceil(0.99 n) above it. A
        # replayed dead letter counts from its replay: an operator's replay of a day-old letter
        # is not a day of forwarder lag.
        above = delivered - -(-delivered * 99 // 100)
        rows = self.read(
            "SELECT delivered_at - COALESCE(replayed_at, received_at) AS lag FROM updates"
            f" WHERE {IN_INTERVAL} ORDER BY lag DESC LIMIT 1 OFFSET ?",
            (bot, since, now, above),
        )
        return max(0.0, float(rows[0][0])) if rows else None

    def record_samples(self, rows: Sequence[Sample]) -> None:
        """Store rows; a second row for the same (bot, at) is ignored (a job run twice)."""
        if not rows:
            return
        marks = ", ".join("?" for _ in COLUMNS.split(","))
        with self.write() as conn:
            conn.executemany(
                f"INSERT INTO samples ({COLUMNS}) VALUES ({marks})"
                " ON CONFLICT (bot, at) DO NOTHING",
                [
                    (r.bot, r.at, r.received, r.delivered, r.dead)
                    + (r.queue_depth, r.oldest_age, r.lag_p99)
                    for r in rows
                ],
            )

    def samples(self, bot: str, since: float) -> list[Sample]:
        """`bot`'s rows taken at or after `since`, oldest first."""
        rows = self.read(
            f"SELECT {COLUMNS} FROM samples WHERE bot = ? AND at >= ? ORDER BY at", (bot, since)
        )
        return [
            Sample(r[0], float(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), float(r[6]), r[7])
            for r in rows
        ]

    def last_sample_at(self, bot: str) -> float | None:
        at = self.read("SELECT MAX(at) FROM samples WHERE bot = ?", (bot,))[0][0]
        return None if at is None else float(at)

    def prune_samples(self, before: float) -> int:
        with self.write() as conn:
            return conn.execute("DELETE FROM samples WHERE at < ?", (before,)).rowcount
