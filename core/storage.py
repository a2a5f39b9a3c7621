"""The storage seam: the values that cross it, its errors, and the choice of backend.

Callers (receiver, forwarder, monitor, CLI) speak only in the domain verbs of the store
returned by `open_store`; SQL lives in the `core/storage_*` modules behind it. A PostgreSQL
backend implements the same verbs.
"""

from __future__ import annotations

from dataclasses import dataclass


class StoreError(Exception):
    """The store cannot persist or read right now; callers answer 503 or retry later."""


@dataclass(frozen=True)
class IncomingUpdate:
    bot: str
    update_id: int
    type: str
    chat_key: str
    body: bytes
    received_at: float
    conforms: bool


@dataclass(frozen=True)
class QueueStats:
    bot: str
    depth: int  # stored and not yet delivered (pending or in flight)
    oldest_age_seconds: float  # 0 when empty
    dead_letters: int
    last_received_at: float | None


# Delivery states of an update row.
PENDING = "pending"  # waiting for the forwarder
DELIVERING = "delivering"  # claimed by a forwarder, POST in flight
DELIVERED = "delivered"
DEAD = "dead"  # delivery budget exhausted; see `python app.py dlq`
STORED = "stored"  # no forward URL configured: kept for dedup and inspection only


def open_store(url: str, *, timeout: float = 5.0, synchronous: str = "NORMAL"):
    """Open the store named by TGWEBHOOK_DB: a SQLite path (or sqlite:///path)."""
    if url.startswith(("postgresql://", "postgres://")):
        raise StoreError("the PostgreSQL backend is not available in this version")
    from core.storage_sqlite import SqliteStore

    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    return SqliteStore(path, timeout=timeout, synchronous=synchronous)


@dataclass(frozen=True)
class Observation:
    """One getWebhookInfo poll of one bot, as stored by the monitor."""

    bot: str
    observed_at: float
    ok: bool  # the poll itself succeeded
    error_code: int | None = None  # poll failure: Bot API error_code (401 = revoked token)
    error: str = ""  # poll failure description, token redacted
    pending_update_count: int | None = None
    last_error_date: int | None = None
    last_error_message: str = ""
    last_synchronization_error_date: int | None = None
    url: str = ""
    max_connections: int | None = None
    allowed_updates: tuple[str, ...] | None = None
    ip_address: str = ""
