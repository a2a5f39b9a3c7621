"""Privacy verbs on the store (`python app.py privacy forget`): find the rows that name a user
or chat, delete them, and note what was done (never whom) in `privacy_audit`.

Functions over any store's `read`/`write`, so both backends share them. Observations, alerts
and notifications hold getWebhookInfo figures and our own texts, never update content, so the
updates table is the only place to look."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Found:
    """Rows naming the subject: `ids` all of them, `bodies` how many still hold a body,
    `waiting` how many were not delivered yet (pending or dead)."""

    ids: tuple[int, ...]
    bodies: int
    waiting: int


@dataclass(frozen=True)
class AuditRow:
    at: float
    scope: str
    rows_removed: int
    bodies_removed: int


def find_rows(store: Any, chat_key: str, names: Callable[[bytes | None], bool]) -> Found:
    """Rows keyed by `chat_key`, and rows whose held body `names` the subject."""
    rows = store.read(
        "SELECT id, body, state FROM updates WHERE chat_key = ? OR body IS NOT NULL", (chat_key,)
    )
    keyed = {row[0] for row in store.read("SELECT id FROM updates WHERE chat_key = ?", (chat_key,))}
    hits = [
        (row[0], row[1] is not None, row[2])
        for row in rows
        if row[0] in keyed or names(None if row[1] is None else bytes(row[1]))
    ]
    return Found(
        ids=tuple(sorted(hit[0] for hit in hits)),
        bodies=sum(1 for hit in hits if hit[1]),
        waiting=sum(1 for hit in hits if hit[2] not in ("delivered", "stored")),
    )


def forget_rows(store: Any, found: Found, scope: str, now: float) -> int:
    """Delete the rows and write the audit row, in one transaction; rows deleted."""
    with store.write() as conn:
        removed = 0
        for start in range(0, len(found.ids), 500):
            chunk = found.ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            removed += conn.execute(f"DELETE FROM updates WHERE id IN ({marks})", chunk).rowcount
        conn.execute(
            "INSERT INTO privacy_audit (at, scope, rows_removed, bodies_removed)"
            " VALUES (?, ?, ?, ?)",
            (now, scope, removed, found.bodies),
        )
    return removed


def audit_rows(store: Any) -> list[AuditRow]:
    rows = store.read(
        "SELECT at, scope, rows_removed, bodies_removed FROM privacy_audit ORDER BY id"
    )
    return [AuditRow(*row) for row in rows]
