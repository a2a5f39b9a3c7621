"""The values that cross the storage seam, its error, and the states of its rows.

States are `StrEnum`s: a member is its stored string (`UpdateState.PENDING == "pending"`), so
the columns hold the same text as ever; values read back are turned into members on the way in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class StoreError(Exception):
    """The store cannot persist or read right now; callers answer 503 or retry later."""


class StoreUnreachable(StoreError):
    """The store's server is down or cut off; it was logged once when that began, so callers
    need not log each failure. Recovery is the store's own (it probes and reconnects)."""


class StoreMisconfigured(StoreError):
    """The store cannot be used as configured (wrong password, missing database, a SQLite path
    that is not a writable database): retrying will not help, so a process exits at start."""


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


class UpdateState(StrEnum):
    """Delivery state of an update row."""

    PENDING = "pending"  # waiting for the forwarder
    DELIVERING = "delivering"  # claimed by a forwarder, POST in flight
    DELIVERED = "delivered"
    DEAD = "dead"  # delivery budget exhausted; see `python app.py dlq`
    STORED = "stored"  # no forward URL configured: kept for dedup and inspection only


PENDING = UpdateState.PENDING
DELIVERING = UpdateState.DELIVERING
DELIVERED = UpdateState.DELIVERED
DEAD = UpdateState.DEAD
STORED = UpdateState.STORED


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


class AlertStatus(StrEnum):
    """Where one (bot, alert) pair stands; monitor/alerts.py moves it."""

    OK = "ok"  # never fired
    FIRING = "firing"
    RESOLVED = "resolved"  # fired, then cleared


ALERT_OK = AlertStatus.OK
ALERT_FIRING = AlertStatus.FIRING
ALERT_RESOLVED = AlertStatus.RESOLVED


class NotificationState(StrEnum):
    """An outbox row (one per transition and channel): waiting (maybe for a retry), claimed
    by a sender, done."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class AlertState:
    """The current state of one alert of one bot; `version` is its compare-and-set token."""

    bot: str
    alert: str
    state: AlertStatus = AlertStatus.OK
    severity: str = ""
    summary: str = ""
    changed_at: float | None = None
    notified_at: float | None = None  # last fire, repeat or resolve
    version: int = 0

    def __post_init__(self) -> None:
        # Rows come back as plain strings; the field holds a member either way.
        object.__setattr__(self, "state", AlertStatus(self.state))


@dataclass(frozen=True)
class AlertTransition:
    """A row of alert history: fire, repeat (still firing) or resolve. Notifications render it."""

    bot: str
    alert: str
    kind: str  # "fire", "repeat" or "resolve"
    old_state: AlertStatus
    new_state: AlertStatus
    at: float
    severity: str
    summary: str
    details: Mapping[str, Any] = field(default_factory=dict)
    started_at: float | None = None  # when the alert began firing
    id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "old_state", AlertStatus(self.old_state))
        object.__setattr__(self, "new_state", AlertStatus(self.new_state))


@dataclass(frozen=True)
class Notification:
    """One claimed outbox row: send `transition` through `channel`, then report with `lease`."""

    id: int
    channel: str
    attempts: int  # including this one
    lease: str
    transition: AlertTransition


@dataclass(frozen=True)
class CertificateCheck:
    """The latest TLS check of a bot's public URL."""

    bot: str
    host: str
    checked_at: float
    not_after: float | None  # certificate expiry (epoch seconds); None when unknown
    error: str = ""  # handshake or verification failure


@dataclass(frozen=True)
class QueuedUpdate:
    """One row of the queue, as the forwarder and the dlq/queue commands see it."""

    id: int  # arrival order; the handle `python app.py dlq` uses
    bot: str
    update_id: int
    type: str
    chat_key: str
    received_at: float
    state: UpdateState
    attempts: int  # finished attempts so far
    next_attempt_at: float | None
    delivered_at: float | None
    last_error: str | None
    budget_from: float  # the age budget counts from here (received, or replayed)
    body: bytes | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", UpdateState(self.state))


@dataclass(frozen=True)
class ChatHead:
    """The oldest undelivered update of one chat, and how many wait behind and with it."""

    waiting: int
    head: QueuedUpdate


# Outcome kinds a claimer reports (core/storage/queue.py says what each writes).
DELIVERED_NOW, RETRY, DEAD_NOW = "delivered", "retry", "dead"
RELEASE, UNCLAIM = "release", "unclaim"


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed update, written by its claimer `owner`.

    With `advance_until`, the chat's next head is leased to the same owner in the same
    transaction (returned in `Recorded.next`), so a busy chat costs one write per update.
    """

    kind: str  # DELIVERED_NOW, RETRY, DEAD_NOW, RELEASE or UNCLAIM
    row_id: int
    owner: str
    now: float
    hold: bool = False  # DELIVERED_NOW: keep the chat leased until RELEASE (webhook reply)
    next_attempt_at: float | None = None  # RETRY
    error: str = ""
    bot: str = ""  # with chat_key: the chat to advance in
    chat_key: str = ""
    advance_until: float | None = None
    keep_body: bool = False  # DELIVERED_NOW: the retention window keeps the full body


@dataclass(frozen=True)
class Recorded:
    fenced: bool  # False: the lease had run out and another claimer owns the chat now
    next: QueuedUpdate | None = None
