"""Copy one store into another (`python app.py migrate-store`), e.g. SQLite -> PostgreSQL.

Idempotent, so an interrupted copy is simply run again: updates are matched on their unique
(bot, update_id); alert states and certificate checks on their keys (rows already in the
target win); observations and alert history are appended from just after the newest row the
target already holds. Pending alert notifications (the outbox) are not copied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

from core.storage.model import AlertState, AlertTransition, CertificateCheck, Observation

CHUNK = 2000
UPDATE_COLUMNS = (
    "bot",
    "update_id",
    "type",
    "chat_key",
    "received_at",
    "conforms",
    "body",
    "state",
    "attempts",
    "next_attempt_at",
    "claimed_until",
    "delivered_at",
    "last_error",
    "claimed_by",
    "replayed_at",
)
OBSERVATION_COLUMNS = tuple(f.name for f in fields(Observation))
TRANSITION_COLUMNS = tuple(f.name for f in fields(AlertTransition) if f.name != "id")
STATE_COLUMNS = tuple(f.name for f in fields(AlertState))
CERTIFICATE_COLUMNS = tuple(f.name for f in fields(CertificateCheck))


def copy_store(source, target) -> dict[str, int]:
    """Copy everything the target lacks; {table: rows copied}."""
    return {
        "updates": copy_updates(source, target),
        "observations": append_newer(
            source, target, "observations", OBSERVATION_COLUMNS, "observed_at"
        ),
        "alert_transitions": append_newer(
            source, target, "alert_transitions", TRANSITION_COLUMNS, "at"
        ),
        "alert_states": copy_keyed(source, target, "alert_states", STATE_COLUMNS),
        "certificate_checks": copy_keyed(source, target, "certificate_checks", CERTIFICATE_COLUMNS),
    }


def insert_sql(table: str, columns: Sequence[str], conflict: str) -> str:
    marks = ", ".join("?" * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) {conflict}"


def write_rows(target, sql: str, rows: list) -> int:
    if not rows:
        return 0
    with target.write() as conn:
        cursor = conn.executemany(sql, [tuple(row) for row in rows])
        return max(cursor.rowcount, 0)


def copy_updates(source, target) -> int:
    """In arrival order, chunk by chunk (a chunk per transaction); duplicates are skipped."""
    sql = insert_sql("updates", UPDATE_COLUMNS, "ON CONFLICT (bot, update_id) DO NOTHING")
    copied, after = 0, -1
    while True:
        rows = source.read(
            f"SELECT id, {', '.join(UPDATE_COLUMNS)} FROM updates WHERE id > ? ORDER BY id LIMIT ?",
            (after, CHUNK),
        )
        if not rows:
            return copied
        copied += write_rows(target, sql, [tuple(row)[1:] for row in rows])
        after = rows[-1][0]


def append_newer(source, target, table: str, columns: Sequence[str], at: str) -> int:
    newest = target.read(f"SELECT MAX({at}) FROM {table}")[0][0]
    rows = source.read(
        f"SELECT {', '.join(columns)} FROM {table} WHERE {at} > ? ORDER BY {at}, id",
        (newest if newest is not None else float("-inf"),),
    )
    return write_rows(target, insert_sql(table, columns, ""), rows)


def copy_keyed(source, target, table: str, columns: Sequence[str]) -> int:
    rows = source.read(f"SELECT {', '.join(columns)} FROM {table}")
    return write_rows(target, insert_sql(table, columns, "ON CONFLICT DO NOTHING"), rows)
