"""SQLite schema, as sqlite-utils migration sets applied in order at open.

Each domain owns a migration set; append new migrations at the end of a set, never edit one
that has shipped.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

core = Migrations("tgwebhook.core")


@core()
def create_updates(db: Database) -> None:
    # body is NULL once purged (privacy); the row stays while its update_id is retained.
    db.execute(
        """
        CREATE TABLE updates (
            id INTEGER PRIMARY KEY,
            bot TEXT NOT NULL,
            update_id INTEGER NOT NULL,
            type TEXT NOT NULL,
            chat_key TEXT NOT NULL,
            received_at REAL NOT NULL,
            conforms INTEGER NOT NULL,
            body BLOB,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL,
            claimed_until REAL,
            delivered_at REAL,
            last_error TEXT,
            UNIQUE (bot, update_id)
        )
        """
    )
    db.execute("CREATE INDEX updates_queue ON updates (bot, state, received_at)")
    db.execute("CREATE INDEX updates_received ON updates (bot, received_at)")
    db.execute("CREATE INDEX updates_retention ON updates (received_at)")


@core()
def create_heartbeats(db: Database) -> None:
    db.execute("CREATE TABLE heartbeats (name TEXT PRIMARY KEY, at REAL NOT NULL)")


monitor = Migrations("tgwebhook.monitor")


@monitor()
def create_observations(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE observations (
            id INTEGER PRIMARY KEY,
            bot TEXT NOT NULL,
            observed_at REAL NOT NULL,
            ok INTEGER NOT NULL,
            error_code INTEGER,
            error TEXT NOT NULL DEFAULT '',
            pending_update_count INTEGER,
            last_error_date INTEGER,
            last_error_message TEXT NOT NULL DEFAULT '',
            last_synchronization_error_date INTEGER,
            url TEXT NOT NULL DEFAULT '',
            max_connections INTEGER,
            allowed_updates TEXT,
            ip_address TEXT NOT NULL DEFAULT ''
        )
        """
    )
    db.execute("CREATE INDEX observations_bot ON observations (bot, observed_at)")


@monitor()
def create_alerts(db: Database) -> None:
    # Current state per (bot, alert), history of transitions, and the notification outbox.
    db.execute(
        """
        CREATE TABLE alert_states (
            bot TEXT NOT NULL,
            alert TEXT NOT NULL,
            state TEXT NOT NULL,
            severity TEXT NOT NULL DEFAULT '',
            summary TEXT NOT NULL DEFAULT '',
            changed_at REAL,
            notified_at REAL,
            version INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (bot, alert)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE alert_transitions (
            id INTEGER PRIMARY KEY,
            bot TEXT NOT NULL,
            alert TEXT NOT NULL,
            kind TEXT NOT NULL,
            old_state TEXT NOT NULL,
            new_state TEXT NOT NULL,
            at REAL NOT NULL,
            severity TEXT NOT NULL,
            summary TEXT NOT NULL,
            details TEXT NOT NULL DEFAULT '{}',
            started_at REAL
        )
        """
    )
    db.execute("CREATE INDEX alert_transitions_bot ON alert_transitions (bot, at)")
    db.execute(
        """
        CREATE TABLE notifications (
            id INTEGER PRIMARY KEY,
            transition_id INTEGER NOT NULL REFERENCES alert_transitions (id) ON DELETE CASCADE,
            channel TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            claimed_until REAL,
            lease TEXT,
            created_at REAL NOT NULL,
            sent_at REAL,
            last_error TEXT NOT NULL DEFAULT ''
        )
        """
    )
    db.execute("CREATE INDEX notifications_due ON notifications (state, next_attempt_at)")
    db.execute("CREATE INDEX notifications_transition ON notifications (transition_id)")


@monitor()
def create_certificate_checks(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE certificate_checks (
            bot TEXT PRIMARY KEY,
            host TEXT NOT NULL,
            checked_at REAL NOT NULL,
            not_after REAL,
            error TEXT NOT NULL DEFAULT ''
        )
        """
    )


queue = Migrations("tgwebhook.queue")


@queue()
def add_claim_owner_and_replay(db: Database) -> None:
    # claimed_by fences bookkeeping to the claimer that holds the lease; replayed_at restarts
    # the age budget of a dead letter sent back to the queue.
    db.execute("ALTER TABLE updates ADD COLUMN claimed_by TEXT")
    db.execute("ALTER TABLE updates ADD COLUMN replayed_at REAL")


@queue()
def create_queue_indexes(db: Database) -> None:
    # Heads of chats (MIN(id) per chat among undelivered rows) and live chat leases, each an
    # index seek; partial, so delivered history does not slow the claim.
    db.execute(
        "CREATE INDEX updates_active ON updates (bot, chat_key, id)"
        " WHERE state IN ('pending', 'delivering')"
    )
    db.execute(
        "CREATE INDEX updates_leases ON updates (bot, chat_key, claimed_until)"
        " WHERE claimed_until IS NOT NULL"
    )


scale = Migrations("tgwebhook.scale")


@scale()
def create_leader_lease(db: Database) -> None:
    # One row per leadership name (the monitor's); see core/storage/lease.py.
    db.execute(
        "CREATE TABLE leader_lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL,"
        " expires_at REAL NOT NULL)"
    )


proxy = Migrations("tgwebhook.proxy")


@proxy()
def create_poll_cursors(db: Database) -> None:
    # One getUpdates consumer per polling bot; see core/storage/polling.py.
    db.execute(
        "CREATE TABLE poll_cursors (bot TEXT PRIMARY KEY,"
        " served_through INTEGER NOT NULL DEFAULT 0, allowed_updates TEXT NOT NULL DEFAULT '',"
        " allowed_since REAL NOT NULL DEFAULT 0, generation INTEGER NOT NULL DEFAULT 0,"
        " polled_at REAL)"
    )


@proxy()
def add_conflict_pacing(db: Database) -> None:
    # When the last 409 was answered at once: Telegram answers one per 3 s at once, others later.
    db.execute("ALTER TABLE poll_cursors ADD COLUMN conflict_at REAL NOT NULL DEFAULT 0")


privacy = Migrations("tgwebhook.privacy")


@privacy()
def create_privacy_audit(db: Database) -> None:
    # What was erased, when and how much; never whom: naming them would defeat the erasure.
    db.execute(
        "CREATE TABLE privacy_audit (id INTEGER PRIMARY KEY, at REAL NOT NULL,"
        " scope TEXT NOT NULL, rows_removed INTEGER NOT NULL, bodies_removed INTEGER NOT NULL)"
    )


flood = Migrations("tgwebhook.flood")


@flood()
def create_flood_keys(db: Database) -> None:
    # Outbound Bot API shaping, shared by every process that calls Telegram for a bot: per key
    # (a method class and a chat, or the bot's global key) the GCRA theoretical arrival time and
    # the end of any 429 retry_after Telegram gave for it. See core/storage/flood.py.
    db.execute(
        "CREATE TABLE flood_keys (bot TEXT NOT NULL, key TEXT NOT NULL,"
        " tat REAL NOT NULL DEFAULT 0, blocked_until REAL NOT NULL DEFAULT 0,"
        " PRIMARY KEY (bot, key))"
    )


console = Migrations("tgwebhook.console")


@console()
def create_console_tables(db: Database) -> None:
    # The operator console's audit list (who did what, to how many rows; bulk actions record
    # their progress here) and per-minute samples behind its charts, so both survive restarts.
    db.execute(
        "CREATE TABLE console_audit (id INTEGER PRIMARY KEY, at REAL NOT NULL,"
        " actor TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,"
        " bot TEXT NOT NULL DEFAULT '', target TEXT NOT NULL DEFAULT '',"
        " matched INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0,"
        " state TEXT NOT NULL DEFAULT 'done', finished_at REAL)"
    )
    db.execute("CREATE INDEX console_audit_at ON console_audit (at)")
    db.execute(
        "CREATE TABLE samples (bot TEXT NOT NULL, at REAL NOT NULL,"
        " received INTEGER NOT NULL DEFAULT 0, delivered INTEGER NOT NULL DEFAULT 0,"
        " dead INTEGER NOT NULL DEFAULT 0, queue_depth INTEGER NOT NULL DEFAULT 0,"
        " oldest_age REAL NOT NULL DEFAULT 0, lag_p99 REAL, PRIMARY KEY (bot, at))"
    )


@console()
def create_delivered_index(db: Database) -> None:
    # The chart samples count each bot's deliveries per interval (core/storage/samples.py);
    # without an index that count reads every retained row. Partial: undelivered rows stay out.
    db.execute(
        "CREATE INDEX updates_delivered ON updates (bot, delivered_at)"
        " WHERE delivered_at IS NOT NULL"
    )


@console()
def create_dead_index(db: Database) -> None:
    # The console lists, counts and bulk-replays dead letters by bot and id; they are few among
    # millions of retained updates, so a partial index finds them without a scan.
    db.execute("CREATE INDEX updates_dead ON updates (bot, id) WHERE state = 'dead'")


MIGRATIONS: list[Migrations] = [core, monitor, queue, scale, proxy, privacy, flood, console]
