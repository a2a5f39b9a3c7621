"""The store: `open_store(url)`, its error, the values that cross it, and what it can do.

Callers (receiver, forwarder, monitor, commands) import only this package and annotate the
narrow protocol they use (`IngestStore`, `QueueStore`, ...). SQL lives behind it: the
backend-neutral verbs (`ingest`, `queue`, `monitor`, `lease`) over the connections of the
`sqlite` or `postgres` backend.
"""

from __future__ import annotations

import re

from core.storage.console import (
    AUDIT_DONE,
    AUDIT_FAILED,
    AUDIT_RUNNING,
    ERROR_CLASSES,
    AuditEntry,
    DeadFilter,
    UpdateMeta,
    error_class,
)
from core.storage.flood import FloodStore
from core.storage.model import (
    ALERT_FIRING,
    ALERT_OK,
    ALERT_RESOLVED,
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
    AlertState,
    AlertStatus,
    AlertTransition,
    CertificateCheck,
    ChatHead,
    IncomingUpdate,
    Notification,
    NotificationState,
    Observation,
    Outcome,
    QueuedUpdate,
    QueueStats,
    Recorded,
    StoreError,
    StoreMisconfigured,
    StoreUnreachable,
    UpdateState,
)
from core.storage.protocols import (
    AlertStore,
    ConsoleStore,
    IngestStore,
    LeaseStore,
    MonitorStore,
    ObservationStore,
    PollStore,
    QueueStore,
    SampleStore,
    StatusStore,
    Store,
)
from core.storage.samples import Sample

__all__ = [
    "AUDIT_DONE",
    "AUDIT_FAILED",
    "AUDIT_RUNNING",
    "ERROR_CLASSES",
    "error_class",
    "DEAD_NOW",
    "DELIVERED_NOW",
    "RELEASE",
    "RETRY",
    "UNCLAIM",
    "Outcome",
    "Recorded",
    "ALERT_FIRING",
    "ALERT_OK",
    "ALERT_RESOLVED",
    "DEAD",
    "DELIVERED",
    "DELIVERING",
    "PENDING",
    "STORED",
    "AlertState",
    "AlertStatus",
    "AlertStore",
    "AlertTransition",
    "AuditEntry",
    "CertificateCheck",
    "ChatHead",
    "FloodStore",
    "ConsoleStore",
    "DeadFilter",
    "IncomingUpdate",
    "IngestStore",
    "LeaseStore",
    "MonitorStore",
    "Notification",
    "NotificationState",
    "Observation",
    "ObservationStore",
    "PollStore",
    "QueueStats",
    "QueuedUpdate",
    "QueueStore",
    "Sample",
    "SampleStore",
    "StatusStore",
    "Store",
    "StoreError",
    "StoreMisconfigured",
    "StoreUnreachable",
    "UpdateMeta",
    "UpdateState",
    "open_store",
    "redact",
    "sqlite_path",
]


def open_store(
    url: str, *, timeout: float = 5.0, synchronous: str = "NORMAL", tolerate_outage: bool = True
) -> Store:
    """Open the store named by TGWEBHOOK_DB: a SQLite path (or sqlite:///path), or a
    postgresql:// URL (shared by several replicas; see docs/scaling.md).

    A PostgreSQL server that is down is no error for the long-running processes: the store
    opens, fails with StoreUnreachable until the server is back, then migrates and serves.
    One-shot commands pass `tolerate_outage=False` to get StoreUnreachable at once instead."""
    path = sqlite_path(url)
    if path is None:
        from core.storage.postgres.store import PostgresStore

        return PostgresStore(url, timeout=timeout, tolerate_outage=tolerate_outage)
    from core.storage.sqlite.store import SqliteStore

    return SqliteStore(path, timeout=timeout, synchronous=synchronous)


def sqlite_path(url: str) -> str | None:
    """The file a TGWEBHOOK_DB value names, or None for a (shared) PostgreSQL store."""
    if url.startswith(("postgresql://", "postgres://")):
        return None
    return url.removeprefix("sqlite:///")


# The password of a postgresql:// URL: in its user-info part, or as a `password=` parameter.
PASSWORD = re.compile(r"(?<=://)([^:@/]*):[^@/]*@|(?<=[?&]password=)[^&]*")


def redact(url: str) -> str:
    """TGWEBHOOK_DB as it may be logged or printed: a PostgreSQL URL without its password."""
    if sqlite_path(url) is not None:
        return url
    return PASSWORD.sub(lambda m: f"{m.group(1)}:***@" if m.group(1) is not None else "***", url)
