"""getUpdates verbs: a polling bot's cursor and its unconfirmed updates, shared by both backends.

A bot without a forward URL stores its updates as `stored`; they are its getUpdates queue until
an offset confirms them (they become `delivered`, kept for dedup like any delivered update).
An offset confirms only updates already served (`id <= served_through`): Telegram delivers
different chats concurrently, so an update with a lower update_id can be committed after a higher
one was served, and the bot's next offset must not forget it unseen.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from core.storage.model import DELIVERED, STORED

OVERHEAD_BYTES = 50  # per update in the response size cap, as Telegram counts it


@dataclass(frozen=True)
class PollCursor:
    """One polling bot's consumer: what it was served, what it asked for, who polls now."""

    bot: str
    served_through: int = 0  # highest row id handed out: offsets confirm only up to it
    allowed_updates: tuple[str, ...] = ()  # empty: Telegram's default set
    allowed_since: float = 0.0  # allowed_updates filters updates received from then on
    generation: int = 0  # bumped by every getUpdates: a parked poll with an older one lost
    polled_at: float | None = None


@dataclass(frozen=True)
class PolledUpdate:
    row_id: int
    update_id: int
    body: bytes


CURSOR_COLUMNS = "bot, served_through, allowed_updates, allowed_since, generation, polled_at"


# Privacy: confirming drops the body in the same statement (the bot has it now).
CONFIRM = "UPDATE updates SET state = ?, delivered_at = ?, body = NULL WHERE bot = ? AND state = ?"


class PollVerbs:
    """Mixed into SqliteStore and PostgresStore; uses their `read` and `write`."""

    read: Callable[..., list[Any]]
    write: Callable[[], AbstractContextManager[Any]]

    def poll_cursor(self, bot: str) -> PollCursor:
        rows = self.read(f"SELECT {CURSOR_COLUMNS} FROM poll_cursors WHERE bot = ?", (bot,))
        if not rows:
            return PollCursor(bot)
        name, served, allowed, since, generation, polled = rows[0]
        kinds = tuple(allowed.split(",")) if allowed else ()
        return PollCursor(name, served, kinds, since, generation, polled)

    def take_poll(self, bot: str, now: float) -> int:
        """Register a new getUpdates for `bot`; its generation (older parked polls have lost)."""
        with self.write() as conn:
            conn.execute(
                "INSERT INTO poll_cursors (bot, generation, polled_at) VALUES (?, 1, ?)"
                " ON CONFLICT (bot) DO UPDATE SET generation = poll_cursors.generation + 1,"
                " polled_at = excluded.polled_at",
                (bot, now),
            )
            row = conn.execute("SELECT generation FROM poll_cursors WHERE bot = ?", (bot,))
            return int(row.fetchone()[0])

    def save_allowed_updates(self, bot: str, kinds: tuple[str, ...], now: float) -> None:
        with self.write() as conn:
            conn.execute(
                "UPDATE poll_cursors SET allowed_updates = ?, allowed_since = ? WHERE bot = ?",
                (",".join(kinds), now, bot),
            )

    def confirm_below(self, bot: str, offset: int, now: float) -> int:
        """Forget the served updates with update_id < offset (Telegram's offset semantics)."""
        with self.write() as conn:
            return conn.execute(
                CONFIRM + " AND update_id < ? AND id <= (SELECT served_through FROM poll_cursors"
                " WHERE bot = ?)",
                (DELIVERED, now, bot, STORED, offset, bot),
            ).rowcount

    def confirm_all_but(self, bot: str, keep: int, now: float) -> int:
        """Forget all unconfirmed updates but the newest `keep` (a negative offset; 0: all)."""
        newest = (
            "SELECT MIN(update_id) FROM (SELECT update_id FROM updates WHERE bot = ?"
            " AND state = ? ORDER BY update_id DESC LIMIT ?) AS kept"
        )
        params: tuple[object, ...]
        with self.write() as conn:
            if keep <= 0:
                sql, params = "", (bot, STORED)
            else:
                sql, params = f" AND update_id < ({newest})", (bot, STORED, bot, STORED, keep)
            return conn.execute(
                CONFIRM + sql,
                (DELIVERED, now, *params),
            ).rowcount

    def unconfirmed_updates(
        self, bot: str, limit: int, max_bytes: int, cursor: PollCursor
    ) -> list[PolledUpdate]:
        """The head of the queue in commit order (filtered by allowed_updates, capped at
        `max_bytes`); marks them served so the next offset may confirm them."""
        sql = "SELECT id, update_id, body FROM updates WHERE bot = ? AND state = ?"
        params: tuple = (bot, STORED)
        if cursor.allowed_updates:
            marks = ", ".join("?" for _ in cursor.allowed_updates)
            sql += f" AND (received_at < ? OR type IN ({marks}))"
            params += (cursor.allowed_since, *cursor.allowed_updates)
        rows = self.read(sql + " AND body IS NOT NULL ORDER BY id LIMIT ?", (*params, limit))
        batch = capped([PolledUpdate(r[0], r[1], bytes(r[2])) for r in rows], max_bytes)
        if batch and batch[-1].row_id > cursor.served_through:
            with self.write() as conn:
                conn.execute(
                    "UPDATE poll_cursors SET served_through = ? WHERE bot = ?"
                    " AND served_through < ?",
                    (batch[-1].row_id, bot, batch[-1].row_id),
                )
        return batch

    def pace_conflict(self, bot: str, now: float, every: float) -> bool:
        """True (and noted) when no 409 was answered at once for `bot` in the last `every` s:
        shared by every worker, as the poll it ends may be parked in another."""
        with self.write() as conn:
            conn.execute(
                "INSERT INTO poll_cursors (bot) VALUES (?) ON CONFLICT (bot) DO NOTHING", (bot,)
            )
            return (
                conn.execute(
                    "UPDATE poll_cursors SET conflict_at = ? WHERE bot = ? AND conflict_at <= ?",
                    (now, bot, now - every),
                ).rowcount
                == 1
            )

    def newest_update_id(self, bot: str) -> int | None:
        return self.read("SELECT MAX(update_id) FROM updates WHERE bot = ?", (bot,))[0][0]

    def unconfirmed_count(self, bot: str) -> int:
        rows = self.read("SELECT COUNT(*) FROM updates WHERE bot = ? AND state = ?", (bot, STORED))
        return int(rows[0][0])


def capped(batch: list[PolledUpdate], max_bytes: int) -> list[PolledUpdate]:
    """Stop before the response passes `max_bytes`, but always answer at least one update."""
    total = 0
    for index, update in enumerate(batch):
        total += len(update.body) + OVERHEAD_BYTES
        if total > max_bytes and index > 0:
            return batch[:index]
    return batch
