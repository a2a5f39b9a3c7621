"""What a store can do, one narrow protocol per consumer.

Both backends (`sqlite.store.SqliteStore`, `postgres.store.PostgresStore`) satisfy `Store`;
a caller annotates the narrowest protocol it needs, so "what does the forwarder ask of the
store?" is answered here and checked by the type checker.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

from core.storage.console import AuditEntry, DeadFilter, UpdateMeta
from core.storage.flood import FloodStore
from core.storage.model import (
    AlertState,
    AlertTransition,
    CertificateCheck,
    ChatHead,
    IncomingUpdate,
    Notification,
    Observation,
    QueuedUpdate,
    QueueStats,
)
from core.storage.polling import PollCursor, PolledUpdate
from core.storage.queue import Outcome, Recorded
from core.storage.samples import Sample
from core.storage.wakeup import Listener


class BaseStore(Protocol):
    """Every store: health of the store itself and its lifetime."""

    def check_writable(self) -> None: ...

    def close(self) -> None: ...


class IngestStore(BaseStore, Protocol):
    """The receiver: claim-and-persist an update, and the counts its endpoints report."""

    def record_update(self, update: IncomingUpdate, forward: bool) -> bool: ...

    async def record_update_async(self, update: IncomingUpdate, forward: bool) -> bool: ...

    def queue_stats(
        self, bots: list[str], now: float, polling: Collection[str] = ()
    ) -> list[QueueStats]: ...

    def count_updates(self, bot: str | None = None) -> int: ...

    def get_update(self, bot: str, update_id: int) -> Mapping[str, Any] | None: ...

    def prune(
        self, now: float, dedup_retention: float, payload_retention: float
    ) -> tuple[int, int]: ...


class QueueStore(FloodStore, BaseStore, Protocol):
    """The forwarder and the `dlq` / `queue` commands: per-chat leases, outcomes, dead letters."""

    def claim_due(
        self, bot: str, now: float, limit: int, lease_until: float, owner: str
    ) -> list[QueuedUpdate]: ...

    def record_delivered(self, row_id: int, owner: str, now: float, hold: bool = False) -> bool: ...

    def release(self, row_id: int, owner: str) -> bool: ...

    def record_retry(self, row_id: int, owner: str, next_attempt_at: float, error: str) -> bool: ...

    def record_dead(self, row_id: int, owner: str, error: str) -> bool: ...

    def record_outcomes(self, outcomes: Sequence[Outcome]) -> list[Recorded]: ...

    def next_due(self, bot: str, now: float) -> float | None: ...

    def lease_holders(self, now: float) -> list[str]: ...

    def expire_leases(self, owner: str) -> int: ...

    def announce_work(self) -> None: ...

    def listen_for_work(
        self, wake: Callable[[], None], wants: tuple[str, ...] = ...
    ) -> Listener: ...

    def without_waiting(self) -> QueueStore | None: ...

    def queued_update(self, row_id: int) -> QueuedUpdate | None: ...

    def dead_letters(self, bot: str | None = None, limit: int = 100) -> list[QueuedUpdate]: ...

    def replay_dead(self, ids: Sequence[int] | None, now: float, bot: str | None = None) -> int: ...

    def drop_dead(self, ids: Sequence[int] | None, bot: str | None = None) -> int: ...

    def chat_heads(self, bot: str | None = None, limit: int = 20) -> list[ChatHead]: ...

    def queue_stats(
        self, bots: list[str], now: float, polling: Collection[str] = ()
    ) -> list[QueueStats]: ...


class ObservationStore(BaseStore, Protocol):
    """The monitor's poller and certificate check: what Telegram and TLS looked like."""

    def save_observation(self, observation: Observation) -> None: ...

    def recent_observations(self, bot: str, limit: int = 20) -> list[Observation]: ...

    def latest_observation(self, bot: str) -> Observation | None: ...

    def last_successful_poll(self, bot: str) -> float | None: ...

    def prune_observations(self, before: float) -> int: ...

    def save_certificate_check(self, check: CertificateCheck) -> None: ...

    def certificate_checks(self) -> list[CertificateCheck]: ...

    def certificate_check(self, bot: str) -> CertificateCheck | None: ...


class AlertStore(BaseStore, Protocol):
    """The alert state machine and its notification outbox."""

    def alert_states(self, bot: str | None = None) -> list[AlertState]: ...

    def save_transition(
        self, transition: AlertTransition, expected_version: int, channels: Sequence[str]
    ) -> int | None: ...

    def alert_history(self, bot: str | None = None, limit: int = 50) -> list[AlertTransition]: ...

    def notification_states(self, transition_ids: Sequence[int]) -> dict[int, list[tuple]]: ...

    def has_due_notifications(self, now: float) -> bool: ...

    def claim_notifications(
        self, now: float, lease_seconds: float, limit: int = 20
    ) -> list[Notification]: ...

    def finish_notification(
        self, notification: Notification, sent: bool, now: float, error: str = ""
    ) -> bool: ...

    def retry_notification(self, notification: Notification, at: float, error: str) -> bool: ...

    def prune_notifications(self, before: float) -> int: ...


class LeaseStore(BaseStore, Protocol):
    """Named leases with fencing by holder (the monitor's leadership)."""

    def take_lease(
        self, name: str, holder: str, now: float, seconds: float, replacing: str | None = None
    ) -> bool: ...

    def release_lease(self, name: str, holder: str) -> bool: ...

    def lease_holder(self, name: str, now: float) -> str | None: ...


class SampleStore(BaseStore, Protocol):
    """The console's chart rows: the monitor measures and records them, the console reads."""

    def measure_sample(self, bot: str, since: float, now: float, polls: bool = False) -> Sample: ...

    def record_samples(self, rows: Sequence[Sample]) -> None: ...

    def samples(self, bot: str, since: float) -> list[Sample]: ...

    def last_sample_at(self, bot: str) -> float | None: ...

    def prune_samples(self, before: float) -> int: ...


class MonitorStore(FloodStore, ObservationStore, AlertStore, SampleStore, Protocol):
    """The monitor's jobs: polls, alerts, and the queue figures and pruning they also do."""

    def queue_stats(
        self, bots: list[str], now: float, polling: Collection[str] = ()
    ) -> list[QueueStats]: ...

    def prune(
        self, now: float, dedup_retention: float, payload_retention: float
    ) -> tuple[int, int]: ...


class StatusStore(BaseStore, Protocol):
    """The ops endpoints and the scrape-time collector: figures to show, nothing to change."""

    def queue_stats(
        self, bots: list[str], now: float, polling: Collection[str] = ()
    ) -> list[QueueStats]: ...

    def poll_cursor(self, bot: str) -> PollCursor: ...

    def latest_observation(self, bot: str) -> Observation | None: ...

    def last_successful_poll(self, bot: str) -> float | None: ...

    def alert_states(self, bot: str | None = None) -> list[AlertState]: ...

    def certificate_checks(self) -> list[CertificateCheck]: ...


class PollStore(BaseStore, Protocol):
    """The Bot API proxy's getUpdates: a polling bot's cursor over its unconfirmed updates."""

    def poll_cursor(self, bot: str) -> PollCursor: ...

    def take_poll(self, bot: str, now: float) -> int: ...

    def save_allowed_updates(self, bot: str, kinds: tuple[str, ...], now: float) -> None: ...

    def confirm_below(self, bot: str, offset: int, now: float) -> int: ...

    def confirm_all_but(self, bot: str, keep: int, now: float) -> int: ...

    def unconfirmed_updates(
        self, bot: str, limit: int, max_bytes: int, cursor: PollCursor
    ) -> list[PolledUpdate]: ...

    def pace_conflict(self, bot: str, now: float, every: float) -> bool: ...

    def newest_update_id(self, bot: str) -> int | None: ...

    def unconfirmed_count(self, bot: str) -> int: ...

    def announce_work(self) -> None: ...

    def listen_for_work(
        self, wake: Callable[[], None], wants: tuple[str, ...] = ...
    ) -> Listener: ...


class ConsoleStore(BaseStore, Protocol):
    """The operator console: filtered dead letters (replayed and dropped by QueueStore's verbs),
    the audit list, updates' metadata."""

    def count_dead(self, dead: DeadFilter) -> int: ...

    def newest_dead_id(self, dead: DeadFilter) -> int | None: ...

    def list_dead(
        self, dead: DeadFilter, limit: int = 50, before_id: int | None = None
    ) -> list[QueuedUpdate]: ...

    def dead_chunk(self, dead: DeadFilter, after_id: int, limit: int) -> list[int]: ...

    def dead_ids_among(self, ids: Sequence[int]) -> list[int]: ...

    def recent_updates(
        self, bot: str | None = None, limit: int = 50, before_id: int | None = None
    ) -> list[UpdateMeta]: ...

    def update_body(self, row_id: int) -> bytes | None: ...

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
        state: str = "done",
    ) -> int: ...

    def progress_audit(
        self, audit_id: int, done: int, state: str = "running", at: float | None = None
    ) -> None: ...

    def interrupt_audit(self, audit_id: int, at: float) -> bool: ...

    def audit_entries(self, limit: int = 100) -> list[AuditEntry]: ...

    def audit_entry(self, audit_id: int) -> AuditEntry | None: ...


class Store(
    IngestStore,
    QueueStore,
    MonitorStore,
    StatusStore,
    LeaseStore,
    PollStore,
    ConsoleStore,
    Protocol,
):
    """All of it: what `open_store` returns, for wiring and the commands that span roles."""
