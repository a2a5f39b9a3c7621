"""Forwarder queue verbs (claim, deliver, retry, dead letters), shared by both backends.

A chat is owned by whoever holds a live lease (`claimed_until` in the future) on one of its
rows; only the head of a chat (its oldest undelivered row) is ever claimed, and only while
nobody owns the chat. Bookkeeping is fenced by `claimed_by`, so a claimer whose lease
expired and was re-taken cannot overwrite the new owner's work.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from core.storage.flood import FloodVerbs
from core.storage.model import (
    DEAD,
    DEAD_NOW,
    DELIVERED,
    DELIVERED_NOW,
    DELIVERING,
    PENDING,
    RELEASE,
    RETRY,
    STORED,
    UNCLAIM,
    ChatHead,
    Outcome,
    QueuedUpdate,
    Recorded,
)

# Spelled exactly as in the partial index `updates_active`, so SQLite can use it.
ACTIVE = f"state IN ('{PENDING}', '{DELIVERING}')"
COLUMNS = (
    "id, bot, update_id, type, chat_key, received_at, state, attempts, next_attempt_at,"
    " delivered_at, last_error, COALESCE(replayed_at, received_at) AS budget_from"
)
HEADS = f"SELECT MIN(id) AS id, COUNT(*) AS waiting FROM updates WHERE {ACTIVE}"
# A head is due when its retry time has come, or when the claimer holding it vanished.
DUE = (
    f"((state = '{PENDING}' AND COALESCE(next_attempt_at, 0) <= :now)"
    f" OR (state = '{DELIVERING}' AND claimed_until < :now))"
)
CHAT_FREE = (
    "NOT EXISTS (SELECT 1 FROM updates AS lease WHERE lease.bot = updates.bot"
    " AND lease.chat_key = updates.chat_key AND lease.claimed_until IS NOT NULL"
    " AND lease.claimed_until >= :now)"
)
IS_HEAD = (
    "id = (SELECT MIN(id) FROM updates AS head WHERE head.bot = updates.bot"
    f" AND head.chat_key = updates.chat_key AND head.{ACTIVE})"
)


# The next head of a chat whose lease we hold: taken over in the transaction that records the
# previous update's outcome, so the chat never looks free in between and no query is spent.
ADVANCE = (
    f"UPDATE updates SET state = '{DELIVERING}', claimed_until = :until, claimed_by = :owner"
    " WHERE id = (SELECT MIN(id) FROM updates AS head WHERE head.bot = :bot"
    f" AND head.chat_key = :chat AND head.{ACTIVE}) AND state = '{PENDING}'"
    f" AND COALESCE(next_attempt_at, 0) <= :now AND {CHAT_FREE}"
    f" RETURNING {COLUMNS}, body"
)
FENCE = " WHERE id = :id AND claimed_by = :owner"
FREE = ", claimed_until = NULL, claimed_by = NULL"
# What each outcome kind writes (fenced by the claimer; a stale claimer changes nothing).
# Privacy: the delivery's own statement drops the body unless PAYLOAD_RETENTION_HOURS keeps it.
DROP_BODY = " body = NULL,"
RECORD = {
    DELIVERED_NOW: f"UPDATE updates SET state = '{DELIVERED}', delivered_at = :now,{DROP_BODY}"
    f" attempts = attempts + 1{FREE}{FENCE} AND state = '{DELIVERING}'",
    RETRY: f"UPDATE updates SET state = '{PENDING}', attempts = attempts + 1,"
    f" next_attempt_at = :next, last_error = :error{FREE}{FENCE} AND state = '{DELIVERING}'",
    DEAD_NOW: f"UPDATE updates SET state = '{DEAD}', attempts = attempts + 1,"
    f" next_attempt_at = NULL, last_error = :error{FREE}{FENCE} AND state = '{DELIVERING}'",
    RELEASE: f"UPDATE updates SET claimed_until = NULL, claimed_by = NULL{FENCE}",
    # A leased head that was never sent (the forwarder is stopping): back in the queue as is.
    UNCLAIM: f"UPDATE updates SET state = '{PENDING}'{FREE}{FENCE} AND state = '{DELIVERING}'",
}
HOLD = RECORD[DELIVERED_NOW].replace(FREE, "")  # the chat stays ours while its reply runs


def apply_outcomes(conn: Any, outcomes: list[Outcome]) -> list[Recorded]:
    return [apply_outcome(conn, outcome) for outcome in outcomes]


def apply_outcome(conn: Any, outcome: Outcome) -> Recorded:
    sql = HOLD if outcome.hold and outcome.kind == DELIVERED_NOW else RECORD[outcome.kind]
    if outcome.keep_body:  # only a delivery drops a body
        sql = sql.replace(DROP_BODY, "")
    params = {
        "id": outcome.row_id,
        "owner": outcome.owner,
        "now": outcome.now,
        "next": outcome.next_attempt_at,
        "error": outcome.error,
    }
    if conn.execute(sql, params).rowcount != 1:
        return Recorded(fenced=False)
    if outcome.advance_until is None or outcome.hold:
        return Recorded(fenced=True)
    rows = conn.execute(
        ADVANCE,
        {
            "bot": outcome.bot,
            "chat": outcome.chat_key,
            "now": outcome.now,
            "until": outcome.advance_until,
            "owner": outcome.owner,
        },
    ).fetchall()
    return Recorded(fenced=True, next=queued_from_row(rows[0]) if rows else None)


def queued_from_row(row: sqlite3.Row) -> QueuedUpdate:
    values = dict(row)
    values.pop("waiting", None)
    return QueuedUpdate(**values)


class QueueVerbs(FloodVerbs):
    """Mixed into SqliteStore and PostgresStore; uses their `read`, `write` and `transact`.

    The SQL is the common dialect of SQLite and PostgreSQL (`?`/`:name` marks; PostgresStore
    rewrites them). Across replicas the conditional UPDATE still decides: a row locked by a
    competing claim is re-checked against the committed values, so a chat has one owner.
    """

    # Supplied by the backend this is mixed into.
    read: Callable[..., list[Any]]
    write: Callable[[], AbstractContextManager[Any]]
    transact: Callable[[Callable[[Any], Any]], Any]
    announce_work: Callable[[], None]

    # -- the forwarder -------------------------------------------------------------------
    def claim_due(
        self, bot: str, now: float, limit: int, lease_until: float, owner: str
    ) -> list[QueuedUpdate]:
        """Lease up to `limit` due chat heads of `bot` to `owner`; returns them with bodies."""
        if limit <= 0:
            return []
        # Candidates come from a read snapshot (no write lock held while scanning); the
        # conditional UPDATE re-checks every condition inside the write transaction.
        candidates = self.read(
            f"SELECT updates.id FROM ({HEADS} AND bot = :bot GROUP BY chat_key) AS heads"
            f" JOIN updates ON updates.id = heads.id WHERE {DUE} AND {CHAT_FREE}"
            " ORDER BY updates.id LIMIT :limit",
            {"bot": bot, "now": now, "limit": limit},
        )
        if not candidates:
            return []
        claim = (
            f"UPDATE updates SET state = '{DELIVERING}', claimed_until = :until,"
            " claimed_by = :owner"
            f" WHERE id = :id AND {DUE} AND {IS_HEAD} AND {CHAT_FREE}"
            f" RETURNING {COLUMNS}, body"
        )

        def work(conn: sqlite3.Connection) -> list[QueuedUpdate]:
            claimed = []
            for (row_id,) in candidates:
                params = {"id": row_id, "now": now, "until": lease_until, "owner": owner}
                claimed += [queued_from_row(r) for r in conn.execute(claim, params).fetchall()]
            return claimed

        return self.transact(work)

    def record_delivered(self, row_id: int, owner: str, now: float, hold: bool = False) -> bool:
        """Mark delivered; with `hold` the chat stays leased until `release` (webhook reply)."""
        return self._record_one(Outcome(DELIVERED_NOW, row_id, owner, now, hold=hold))

    def release(self, row_id: int, owner: str) -> bool:
        return self._record_one(Outcome(RELEASE, row_id, owner, 0.0))

    def record_retry(self, row_id: int, owner: str, next_attempt_at: float, error: str) -> bool:
        return self._record_one(
            Outcome(RETRY, row_id, owner, 0.0, next_attempt_at=next_attempt_at, error=error)
        )

    def record_dead(self, row_id: int, owner: str, error: str) -> bool:
        return self._record_one(Outcome(DEAD_NOW, row_id, owner, 0.0, error=error))

    def _record_one(self, outcome: Outcome) -> bool:
        return self.transact(lambda conn: apply_outcomes(conn, [outcome]))[0].fenced

    def record_outcomes(self, outcomes: Sequence[Outcome]) -> list[Recorded]:
        """Several chats' outcomes in one transaction, each fenced on its own."""
        return self.transact(lambda conn: apply_outcomes(conn, list(outcomes)))

    def next_due(self, bot: str, now: float) -> float | None:
        """When the earliest waiting retry of `bot` or a lease held on it runs out (after now)."""
        rows = self.read(
            f"SELECT MIN(next_attempt_at) FROM updates WHERE bot = ? AND state = '{PENDING}'"
            " AND next_attempt_at > ?"
            " UNION ALL SELECT MIN(claimed_until) FROM updates WHERE bot = ?"
            " AND claimed_until IS NOT NULL AND claimed_until > ?",
            (bot, now, bot, now),
        )
        times = [row[0] for row in rows if row[0] is not None]
        return min(times) if times else None

    def lease_holders(self, now: float) -> list[str]:
        """Owners of live chat leases (`claimed_until IS NOT NULL` picks the partial index)."""
        rows = self.read(
            "SELECT DISTINCT claimed_by FROM updates WHERE claimed_until IS NOT NULL"
            " AND claimed_until >= ? AND claimed_by IS NOT NULL",
            (now,),
        )
        return [row[0] for row in rows]

    def expire_leases(self, owner: str) -> int:
        """End the leases of an owner known to be dead: its chats can be claimed at once."""
        with self.write() as conn:
            return conn.execute(
                "UPDATE updates SET claimed_until = 0 WHERE claimed_by = ?"
                " AND claimed_until IS NOT NULL",
                (owner,),
            ).rowcount

    # -- operators (python app.py dlq / queue) -------------------------------------------
    def queued_update(self, row_id: int) -> QueuedUpdate | None:
        rows = self.read(f"SELECT {COLUMNS}, body FROM updates WHERE id = ?", (row_id,))
        return queued_from_row(rows[0]) if rows else None

    def dead_letters(self, bot: str | None = None, limit: int = 100) -> list[QueuedUpdate]:
        where, params = _bot_filter(bot)
        rows = self.read(
            f"SELECT {COLUMNS} FROM updates WHERE state = ?{where} ORDER BY id LIMIT ?",
            (DEAD, *params, limit),
        )
        return [queued_from_row(row) for row in rows]

    def replay_dead(self, ids: Sequence[int] | None, now: float, bot: str | None = None) -> int:
        """Send dead letters (all when `ids` is None) back to the queue with a fresh budget."""
        replayed = self._change_dead(
            f"state = '{PENDING}', attempts = 0, next_attempt_at = NULL, last_error = NULL,"
            " replayed_at = ?",
            (now,),
            ids,
            bot,
        )
        if replayed:
            self.announce_work()
        return replayed

    def drop_dead(self, ids: Sequence[int] | None, bot: str | None = None) -> int:
        """Give up on dead letters: kept as `stored` (still deduplicated), never forwarded."""
        return self._change_dead(
            f"state = '{STORED}', body = NULL, last_error = 'dropped from the dead-letter queue: '"
            " || COALESCE(last_error, '')",
            (),
            ids,
            bot,
        )

    def _change_dead(
        self, assignments: str, values: tuple, ids: Sequence[int] | None, bot: str | None
    ) -> int:
        where, params = _bot_filter(bot)
        if ids is not None:
            if not ids:
                return 0
            where += f" AND id IN ({', '.join('?' * len(ids))})"
            params += tuple(ids)
        with self.write() as conn:
            return conn.execute(
                f"UPDATE updates SET {assignments} WHERE state = ?{where}",
                (*values, DEAD, *params),
            ).rowcount

    def chat_heads(self, bot: str | None = None, limit: int = 20) -> list[ChatHead]:
        """Heads of the chats with undelivered updates, oldest first."""
        where, params = _bot_filter(bot)
        rows = self.read(
            f"SELECT {COLUMNS}, heads.waiting FROM ({HEADS}{where} GROUP BY bot, chat_key)"
            " AS heads JOIN updates USING (id) ORDER BY id LIMIT ?",
            (*params, limit),
        )
        return [ChatHead(waiting=row["waiting"], head=queued_from_row(row)) for row in rows]


def _bot_filter(bot: str | None) -> tuple[str, tuple]:
    return (" AND bot = ?", (bot,)) if bot is not None else ("", ())
