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


MIGRATIONS: list[Migrations] = [core, monitor]
