"""Retention and queue-figure verbs over the `updates` table, shared by both backends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from typing import Any

from core.storage.model import (
    DEAD,
    DELIVERED,
    DELIVERING,
    PENDING,
    STORED,
    IncomingUpdate,
    QueueStats,
    StoreError,
)
from core.storage.writer import GroupWriter

HEARTBEAT = (
    "INSERT INTO heartbeats (name, at) VALUES ('readyz', ?)"
    " ON CONFLICT (name) DO UPDATE SET at = excluded.at"
)


def claim_params(update: IncomingUpdate, forward: bool) -> tuple:
    return (
        update.bot,
        update.update_id,
        update.type,
        update.chat_key,
        update.received_at,
        int(update.conforms),
        update.body,
        PENDING if forward else STORED,
    )


class IngestVerbs:
    """Mixed into SqliteStore and PostgresStore; uses their `read`, `write` and `_writer`.

    The backend's group-commit writer runs its INSERT ... ON CONFLICT (bot, update_id) DO
    NOTHING with these parameters (in this column order) and answers 1 for a new row.
    """

    # Supplied by the backend this is mixed into.
    read: Callable[..., list[Any]]
    write: Callable[[], AbstractContextManager[Any]]
    _writer: GroupWriter

    def record_update(self, update: IncomingUpdate, forward: bool) -> bool:
        """Persist a new update; False when (bot, update_id) is already retained."""
        return self._writer.submit(claim_params(update, forward)) == 1

    async def record_update_async(self, update: IncomingUpdate, forward: bool) -> bool:
        """record_update for an event loop: the writer thread commits, the loop keeps serving."""
        future = asyncio.wrap_future(self._writer.submit_future(claim_params(update, forward)))
        try:
            return await asyncio.wait_for(future, self._writer.wait_limit) == 1
        except TimeoutError:
            raise StoreError("store write timed out") from None

    def prune(
        self, now: float, dedup_retention: float, payload_retention: float
    ) -> tuple[int, int]:
        """Forget old update ids and purge delivered payloads; returns (forgotten, purged)."""
        with self.write() as conn:
            forgotten = conn.execute(
                "DELETE FROM updates WHERE received_at < ? AND state IN (?, ?)",
                (now - dedup_retention, DELIVERED, STORED),
            ).rowcount
            purged = conn.execute(
                "UPDATE updates SET body = NULL WHERE body IS NOT NULL AND state = ?"
                " AND delivered_at < ?",
                (DELIVERED, now - payload_retention),
            ).rowcount
        return forgotten, purged

    # -- health ------------------------------------------------------------------------
    def queue_stats(
        self, bots: list[str], now: float, polling: Collection[str] = ()
    ) -> list[QueueStats]:
        """Per-bot queue figures, each from an index (scrapes stay cheap at millions of rows).
        A bot in `polling` queues its unconfirmed (`stored`) updates: getUpdates serves them."""
        return [self._queue_stats(bot, now, bot in polling) for bot in bots]

    def _queue_stats(self, bot: str, now: float, polls: bool = False) -> QueueStats:
        waiting = (STORED, STORED) if polls else (PENDING, DELIVERING)
        depth, oldest = self.read(
            "SELECT COUNT(*), MIN(received_at) FROM updates WHERE bot = ? AND state IN (?, ?)",
            (bot, *waiting),
        )[0]
        dead = self.read("SELECT COUNT(*) FROM updates WHERE bot = ? AND state = ?", (bot, DEAD))
        last = self.read(
            "SELECT MAX(received_at) FROM updates WHERE bot = ? AND received_at > ?",
            (bot, now - 86400 * 7),
        )[0][0]
        return QueueStats(
            bot=bot,
            depth=int(depth),
            oldest_age_seconds=max(0.0, now - oldest) if oldest else 0.0,
            dead_letters=int(dead[0][0]),
            last_received_at=last,
        )

    def count_updates(self, bot: str | None = None) -> int:
        if bot is None:
            return self.read("SELECT COUNT(*) FROM updates")[0][0]
        return self.read("SELECT COUNT(*) FROM updates WHERE bot = ?", (bot,))[0][0]

    def get_update(self, bot: str, update_id: int):
        """The whole row (a mapping by column name), or None."""
        rows = self.read("SELECT * FROM updates WHERE bot = ? AND update_id = ?", (bot, update_id))
        return rows[0] if rows else None
