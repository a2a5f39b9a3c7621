"""Monitor verbs (webhook observations, alert state and transitions), shared by both backends."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import astuple, fields
from typing import Any

from core.storage.model import (
    AlertState,
    AlertStatus,
    AlertTransition,
    CertificateCheck,
    Notification,
    NotificationState,
    Observation,
)

OBSERVATION_COLUMNS = tuple(f.name for f in fields(Observation))
STATE_COLUMNS = tuple(f.name for f in fields(AlertState))
TRANSITION_FIELDS = tuple(f.name for f in fields(AlertTransition))
TRANSITION_COLUMNS = ", ".join(f"t.{name}" for name in TRANSITION_FIELDS)
DUE = "(state = ? AND next_attempt_at <= ?) OR (state = ? AND claimed_until < ?)"
CLAIMED = "id = ? AND lease = ? AND state = ?"


def observation_from_row(row) -> Observation:
    values = dict(zip(OBSERVATION_COLUMNS, tuple(row), strict=True))
    values["ok"] = bool(values["ok"])
    if values["allowed_updates"] is not None:
        values["allowed_updates"] = tuple(json.loads(values["allowed_updates"]))
    return Observation(**values)


def due(now: float) -> tuple:
    """Parameters of DUE: rows waiting for their time, and rows whose sender died mid-lease."""
    return (NotificationState.PENDING, now, NotificationState.SENDING, now)


def claimed(notification: Notification) -> tuple:
    """Parameters of CLAIMED: the row is still this sender's."""
    return (notification.id, notification.lease, NotificationState.SENDING)


def transition_from_row(row) -> AlertTransition:
    values = dict(row)
    values["details"] = json.loads(values["details"])
    return AlertTransition(**{name: values[name] for name in TRANSITION_FIELDS})


class MonitorVerbs:
    """Mixed into SqliteStore and PostgresStore; uses their `read`, `write`, `lock_rows`.

    The SQL is the common dialect of SQLite and PostgreSQL (`?` marks; PostgresStore rewrites
    them); `lock_rows` is where the backends differ (row locks exist only in PostgreSQL).
    """

    # Supplied by the backend this is mixed into.
    read: Callable[..., list[Any]]
    write: Callable[[], AbstractContextManager[Any]]
    lock_rows: str

    def save_observation(self, observation: Observation) -> None:
        # Integers, not booleans: PostgreSQL will not put a boolean into an integer column.
        values: list[Any] = [int(v) if isinstance(v, bool) else v for v in astuple(observation)]
        index = OBSERVATION_COLUMNS.index("allowed_updates")
        if values[index] is not None:
            values[index] = json.dumps(list(values[index]))
        marks = ", ".join("?" * len(values))
        with self.write() as conn:
            conn.execute(
                f"INSERT INTO observations ({', '.join(OBSERVATION_COLUMNS)}) VALUES ({marks})",
                values,
            )

    def recent_observations(self, bot: str, limit: int = 20) -> list[Observation]:
        """The newest observations of a bot, newest first."""
        rows = self.read(
            f"SELECT {', '.join(OBSERVATION_COLUMNS)} FROM observations WHERE bot = ?"
            " ORDER BY observed_at DESC, id DESC LIMIT ?",
            (bot, limit),
        )
        return [observation_from_row(row) for row in rows]

    def latest_observation(self, bot: str) -> Observation | None:
        found = self.recent_observations(bot, limit=1)
        return found[0] if found else None

    def last_successful_poll(self, bot: str) -> float | None:
        rows = self.read(
            "SELECT MAX(observed_at) FROM observations WHERE bot = ? AND ok = 1", (bot,)
        )
        return rows[0][0]

    def prune_observations(self, before: float) -> int:
        with self.write() as conn:
            return conn.execute(
                "DELETE FROM observations WHERE observed_at < ?", (before,)
            ).rowcount

    # -- alert state and history -------------------------------------------------------
    def alert_states(self, bot: str | None = None) -> list[AlertState]:
        where, params = ("WHERE bot = ?", (bot,)) if bot is not None else ("", ())
        rows = self.read(
            f"SELECT {', '.join(STATE_COLUMNS)} FROM alert_states {where} ORDER BY bot, alert",
            params,
        )
        return [AlertState(**dict(row)) for row in rows]

    def save_transition(
        self, transition: AlertTransition, expected_version: int, channels: Sequence[str]
    ) -> int | None:
        """Apply a transition if the alert is still in `old_state` at `expected_version`.

        One transaction writes the history row, moves the current state (conditional UPDATE,
        as healthchecks' Flip) and queues one notification per channel; None if another
        evaluator got there first.
        """
        with self.write() as conn:
            conn.execute(
                "INSERT INTO alert_states (bot, alert, state) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (transition.bot, transition.alert, AlertStatus.OK),
            )
            if not self._move_state(conn, transition, expected_version):
                return None
            transition_id = conn.execute(
                "INSERT INTO alert_transitions (bot, alert, kind, old_state, new_state, at,"
                " severity, summary, details, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " RETURNING id",
                (
                    transition.bot,
                    transition.alert,
                    transition.kind,
                    transition.old_state,
                    transition.new_state,
                    transition.at,
                    transition.severity,
                    transition.summary,
                    json.dumps(dict(transition.details), default=str),
                    transition.started_at,
                ),
            ).fetchone()[0]
            conn.executemany(
                "INSERT INTO notifications (transition_id, channel, state, next_attempt_at,"
                " created_at) VALUES (?, ?, ?, ?, ?)",
                [
                    (transition_id, ch, NotificationState.PENDING, transition.at, transition.at)
                    for ch in channels
                ],
            )
            return transition_id

    def _move_state(self, conn: Any, t: AlertTransition, version: int) -> bool:
        changed = t.new_state != t.old_state
        return (
            conn.execute(
                "UPDATE alert_states SET state = ?, severity = ?, summary = ?,"
                " changed_at = CASE WHEN ? THEN ? ELSE changed_at END, notified_at = ?,"
                " version = version + 1"
                " WHERE bot = ? AND alert = ? AND state = ? AND version = ?",
                (
                    t.new_state,
                    t.severity,
                    t.summary,
                    changed,
                    t.at,
                    t.at,
                    t.bot,
                    t.alert,
                    t.old_state,
                    version,
                ),
            ).rowcount
            == 1
        )

    def alert_history(self, bot: str | None = None, limit: int = 50) -> list[AlertTransition]:
        """Transitions, newest first."""
        where, params = ("WHERE t.bot = ?", (bot,)) if bot is not None else ("", ())
        rows = self.read(
            f"SELECT {TRANSITION_COLUMNS} FROM alert_transitions t {where}"
            " ORDER BY t.at DESC, t.id DESC LIMIT ?",
            (*params, limit),
        )
        return [transition_from_row(row) for row in rows]

    def notification_states(self, transition_ids: Sequence[int]) -> dict[int, list[tuple]]:
        """{transition id: [(channel, state, attempts, last_error), ...]}."""
        found: dict[int, list[tuple]] = {tid: [] for tid in transition_ids}
        if not transition_ids:
            return found
        marks = ", ".join("?" * len(transition_ids))
        rows = self.read(
            "SELECT transition_id, channel, state, attempts, last_error FROM notifications"
            f" WHERE transition_id IN ({marks}) ORDER BY id",
            tuple(transition_ids),
        )
        for row in rows:
            found[row[0]].append(tuple(row)[1:])
        return found

    # -- notification outbox -----------------------------------------------------------
    def has_due_notifications(self, now: float) -> bool:
        """A cheap read, so the delivery job takes the write lock only when there is work."""
        return bool(self.read(f"SELECT 1 FROM notifications WHERE {DUE} LIMIT 1", due(now)))

    def claim_notifications(
        self, now: float, lease_seconds: float, limit: int = 20
    ) -> list[Notification]:
        """Lease due rows (and rows whose sender died mid-lease) to this caller, oldest first."""
        lease = secrets.token_hex(8)
        with self.write() as conn:
            ids = conn.execute(
                "UPDATE notifications SET state = ?, lease = ?, claimed_until = ?,"
                f" attempts = attempts + 1 WHERE id IN (SELECT id FROM notifications WHERE {DUE}"
                f" ORDER BY id LIMIT ?{self.lock_rows}) RETURNING id",
                (NotificationState.SENDING, lease, now + lease_seconds, *due(now), limit),
            ).fetchall()
        if not ids:
            return []
        rows = self.read(
            f"SELECT n.id AS nid, n.channel, n.attempts, {TRANSITION_COLUMNS}"
            " FROM notifications n JOIN alert_transitions t ON t.id = n.transition_id"
            " WHERE n.lease = ? ORDER BY n.id",
            (lease,),
        )
        return [
            Notification(
                row["nid"], row["channel"], row["attempts"], lease, transition_from_row(row)
            )
            for row in rows
        ]

    def finish_notification(
        self, notification: Notification, sent: bool, now: float, error: str = ""
    ) -> bool:
        """Mark a claimed row sent or failed for good; False if the lease was lost meanwhile."""
        with self.write() as conn:
            return (
                conn.execute(
                    "UPDATE notifications SET state = ?, sent_at = ?, last_error = ?,"
                    f" claimed_until = NULL WHERE {CLAIMED}",
                    (
                        NotificationState.SENT if sent else NotificationState.FAILED,
                        now if sent else None,
                        error[:500],
                        *claimed(notification),
                    ),
                ).rowcount
                == 1
            )

    def retry_notification(self, notification: Notification, at: float, error: str) -> bool:
        with self.write() as conn:
            return (
                conn.execute(
                    "UPDATE notifications SET state = ?, next_attempt_at = ?, last_error = ?,"
                    f" claimed_until = NULL WHERE {CLAIMED}",
                    (NotificationState.PENDING, at, error[:500], *claimed(notification)),
                ).rowcount
                == 1
            )

    def prune_notifications(self, before: float) -> int:
        """Forget finished outbox rows created before `before` (history rows stay)."""
        with self.write() as conn:
            return conn.execute(
                "DELETE FROM notifications WHERE state IN (?, ?) AND created_at < ?",
                (NotificationState.SENT, NotificationState.FAILED, before),
            ).rowcount

    # -- certificates ------------------------------------------------------------------
    def save_certificate_check(self, check: CertificateCheck) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO certificate_checks (bot, host, checked_at, not_after, error)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (bot) DO UPDATE SET host = excluded.host,"
                " checked_at = excluded.checked_at, not_after = excluded.not_after,"
                " error = excluded.error",
                astuple(check),
            )

    def certificate_checks(self) -> list[CertificateCheck]:
        rows = self.read(
            "SELECT bot, host, checked_at, not_after, error FROM certificate_checks ORDER BY bot"
        )
        return [CertificateCheck(**dict(row)) for row in rows]

    def certificate_check(self, bot: str) -> CertificateCheck | None:
        rows = self.read(
            "SELECT bot, host, checked_at, not_after, error FROM certificate_checks WHERE bot = ?",
            (bot,),
        )
        return CertificateCheck(**dict(rows[0])) if rows else None
