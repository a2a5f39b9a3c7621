"""Leader leases, shared by both backends: one holder per name among the processes of a store.

A lease is a row `(name, holder, expires_at)`. Taking and renewing it is one conditional
upsert: it succeeds when the name is free, expired, or already ours. Expiry uses the callers'
clocks, so replicas need NTP-synchronised clocks (skew well under a lease period).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

TAKE = (
    "INSERT INTO leader_lease (name, holder, expires_at) VALUES (?, ?, ?)"
    " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
    " WHERE leader_lease.holder = excluded.holder OR leader_lease.expires_at < ?"
    " OR leader_lease.holder = ?"
    " RETURNING holder"
)


class LeaseVerbs:
    """Mixed into SqliteStore and PostgresStore; uses their `read` and `write`."""

    # Supplied by the backend this is mixed into.
    read: Callable[..., list[Any]]
    write: Callable[[], AbstractContextManager[Any]]

    def take_lease(
        self, name: str, holder: str, now: float, seconds: float, replacing: str | None = None
    ) -> bool:
        """Take or renew `name` for `holder` until now + seconds; False while another holds it
        (unless that other is `replacing`: a holder known to be dead)."""
        params = (name, holder, now + seconds, now, replacing)
        with self.write() as conn:
            return bool(conn.execute(TAKE, params).fetchall())

    def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up at once (clean shutdown), so another replica need not wait."""
        with self.write() as conn:
            return (
                conn.execute(
                    "DELETE FROM leader_lease WHERE name = ? AND holder = ?", (name, holder)
                ).rowcount
                == 1
            )

    def lease_holder(self, name: str, now: float) -> str | None:
        rows = self.read(
            "SELECT holder FROM leader_lease WHERE name = ? AND expires_at >= ?", (name, now)
        )
        return rows[0][0] if rows else None
