"""Operator console verbs: the audit list, filtered dead letters, recent updates' metadata.

Shared by both backends. Filter values only ever travel as bound parameters; the SQL text is
assembled from fixed fragments chosen by which filters are set, so no value reaches it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from core.storage.model import DEAD, QueuedUpdate
from core.storage.queue import COLUMNS, queued_from_row

# How the forwarder words a failure (forwarder/transport.py, courier.py), as LIKE patterns.
ERROR_PATTERNS = {
    "http_5xx": "HTTP 5%",
    "http_4xx": "HTTP 4%",
    "timeout": "Timeout%",
    "connection": "ConnectionError%",
    "purged": "payload missing%",
}
ERROR_CLASSES = (*ERROR_PATTERNS, "other")
AUDIT_RUNNING, AUDIT_DONE, AUDIT_FAILED = "running", "done", "failed"
AUDIT_INTERRUPTED = "interrupted"  # its worker died mid-way (ops/console/actions.py)
AUDIT_COLUMNS = "id, at, actor, role, action, bot, target, matched, done, state, finished_at"
# Spelled as in the partial index `updates_dead`, so both backends can use it: a constant, and
# dead letters are few among millions of retained updates.
IS_DEAD = f"state = '{DEAD}'"
META_COLUMNS = "id, bot, update_id, type, chat_key, received_at, state, attempts, last_error"


@dataclass(frozen=True)
class DeadFilter:
    """Which dead letters an operator means; every field optional. `through_id` pins a bulk
    action to the rows that existed when it started."""

    bot: str | None = None
    type: str | None = None
    error_class: str | None = None
    since: float | None = None
    until: float | None = None
    through_id: int | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    actor: str
    role: str
    action: str
    bot: str
    target: str
    matched: int
    done: int
    state: str
    finished_at: float | None


@dataclass(frozen=True)
class UpdateMeta:
    """An update without its body: what the console may show anyone."""

    id: int
    bot: str
    update_id: int
    type: str
    chat_key: str
    received_at: float
    state: str
    attempts: int
    last_error: str | None


def error_class(last_error: str | None) -> str:
    """The class a dead letter's error falls in (the same rule as the SQL filter)."""
    text = last_error or ""
    for name, pattern in ERROR_PATTERNS.items():
        if text.startswith(pattern.rstrip("%")):
            return name
    return "other"


def dead_where(dead: DeadFilter) -> tuple[str, tuple]:
    """The WHERE clause and its parameters for `dead`; ValueError on an unknown class."""
    sql, params = [IS_DEAD], list[Any]()
    for column, value in (("bot", dead.bot), ("type", dead.type)):
        if value is not None:
            sql.append(f"{column} = ?")
            params.append(value)
    if dead.error_class is not None:
        if dead.error_class not in ERROR_CLASSES:
            raise ValueError(f"unknown error class: {dead.error_class!r}")
        if dead.error_class == "other":
            sql.append(f"NOT ({' OR '.join(['COALESCE(last_error, ?) LIKE ?'] * 5)})")
            for pattern in ERROR_PATTERNS.values():
                params += ["", pattern]
        else:
            sql.append("last_error LIKE ?")
            params.append(ERROR_PATTERNS[dead.error_class])
    for clause, bound in (("received_at >= ?", dead.since), ("received_at < ?", dead.until)):
        if bound is not None:
            sql.append(clause)
            params.append(bound)
    if dead.through_id is not None:
        sql.append("id <= ?")
        params.append(dead.through_id)
    return " AND ".join(sql), tuple(params)


class ConsoleVerbs:
    """Mixed into SqliteStore and PostgresStore; uses their `read` and `write`."""

    read: Callable[..., list[Any]]
    write: Callable[[], AbstractContextManager[Any]]

    # -- dead letters ---------------------------------------------------------------------
    def count_dead(self, dead: DeadFilter) -> int:
        where, params = dead_where(dead)
        # Ordered by updates_dead's key: without statistics SQLite's planner would otherwise
        # scan the wider covering index updates_queue (80 ms at a million rows, not 1 ms).
        sql = f"SELECT COUNT(*) FROM (SELECT id FROM updates WHERE {where} ORDER BY bot, id) AS d"
        return int(self.read(sql, params)[0][0])

    def newest_dead_id(self, dead: DeadFilter) -> int | None:
        where, params = dead_where(dead)
        return self.read(f"SELECT MAX(id) FROM updates WHERE {where}", params)[0][0]

    def list_dead(
        self, dead: DeadFilter, limit: int = 50, before_id: int | None = None
    ) -> list[QueuedUpdate]:
        """Newest first; `before_id` pages on."""
        where, params = dead_where(dead)
        if before_id is not None:
            where, params = where + " AND id < ?", (*params, before_id)
        rows = self.read(
            f"SELECT {COLUMNS} FROM updates WHERE {where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        return [queued_from_row(row) for row in rows]

    def dead_chunk(self, dead: DeadFilter, after_id: int, limit: int) -> list[int]:
        """The next `limit` ids matching `dead` above `after_id`, ascending (bulk actions)."""
        where, params = dead_where(dead)
        rows = self.read(
            f"SELECT id FROM updates WHERE {where} AND id > ? ORDER BY id LIMIT ?",
            (*params, after_id, limit),
        )
        return [int(row[0]) for row in rows]

    def dead_ids_among(self, ids: Sequence[int]) -> list[int]:
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        rows = self.read(
            f"SELECT id FROM updates WHERE {IS_DEAD} AND id IN ({marks}) ORDER BY id",
            tuple(ids),
        )
        return [int(row[0]) for row in rows]

    # -- recent updates -----------------------------------------------------------------
    def recent_updates(
        self, bot: str | None = None, limit: int = 50, before_id: int | None = None
    ) -> list[UpdateMeta]:
        sql: list[str] = []
        params: list[Any] = []
        if bot is not None:
            sql.append("bot = ?")
            params.append(bot)
        if before_id is not None:  # keyset paging in the order of the indexes below
            sql.append("(received_at, id) < (SELECT received_at, id FROM updates WHERE id = ?)")
            params.append(before_id)
        where = f" WHERE {' AND '.join(sql)}" if sql else ""
        # By arrival: updates_received (bot, received_at) or updates_retention (received_at)
        # walked backwards; ORDER BY id with a bot would sort all of its rows (0.7 s at 1e6).
        rows = self.read(
            f"SELECT {META_COLUMNS} FROM updates{where} ORDER BY received_at DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return [UpdateMeta(*row) for row in rows]

    def update_body(self, row_id: int) -> bytes | None:
        rows = self.read("SELECT body FROM updates WHERE id = ?", (row_id,))
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    # -- audit ----------------------------------------------------------------------------
    def start_audit(
        self,
        at: float,
        actor: str,
        role: str,
        action: str,
        *,
        bot: str = "",
        target: str = "",
        matched: int = 0,
        done: int = 0,
        state: str = AUDIT_DONE,
    ) -> int:
        """Record an action (a finished one, or a `running` bulk one); its id."""
        finished = at if state != AUDIT_RUNNING else None
        with self.write() as conn:
            row = conn.execute(
                "INSERT INTO console_audit (at, actor, role, action, bot, target, matched, done,"
                " state, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (at, actor, role, action, bot, target, matched, done, state, finished),
            ).fetchone()
            return int(row[0])

    def progress_audit(
        self, audit_id: int, done: int, state: str = AUDIT_RUNNING, at: float | None = None
    ) -> None:
        with self.write() as conn:
            conn.execute(
                "UPDATE console_audit SET done = ?, state = ?, finished_at = ? WHERE id = ?",
                (done, state, at if state != AUDIT_RUNNING else None, audit_id),
            )

    def interrupt_audit(self, audit_id: int, at: float) -> bool:
        """A `running` row whose worker died: `interrupted` (False when it ended meanwhile)."""
        with self.write() as conn:
            return (
                conn.execute(
                    "UPDATE console_audit SET state = ?, finished_at = ? WHERE id = ?"
                    " AND state = ?",
                    (AUDIT_INTERRUPTED, at, audit_id, AUDIT_RUNNING),
                ).rowcount
                == 1
            )

    def audit_entries(self, limit: int = 100) -> list[AuditEntry]:
        rows = self.read(
            f"SELECT {AUDIT_COLUMNS} FROM console_audit ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [AuditEntry(*row) for row in rows]

    def audit_entry(self, audit_id: int) -> AuditEntry | None:
        rows = self.read(f"SELECT {AUDIT_COLUMNS} FROM console_audit WHERE id = ?", (audit_id,))
        return AuditEntry(*rows[0]) if rows else None
