"""The one declaration of every setting: typed fields of `BotConfig` (the single-bot settings,
which become ``settings.bots["default"]``) and of `Settings` (everything else).

Each declared field carries its row of the settings table in its metadata; `SETTINGS` is that
table in field order, and README's settings table is checked against it.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any

from core.flood import FloodSettings
from core.secret import Secret

TELEGRAM_NETWORKS = ("149.154.160.0/20", "91.108.4.0/22")
Check = Callable[[Any], str | None]


@dataclass(frozen=True)
class Setting:
    """One row of the table: `name` is the variable without its prefix, `attr` the field."""

    name: str
    type: str
    default: Any
    help: str
    secret: bool = False
    check: Check | None = None
    attr: str = ""
    per_bot: bool = False


def setting(
    help: str,
    default: Any,
    *,
    secret: bool = False,
    check: Check | None = None,
    env: str = "",
) -> Any:
    """A declared field; `default` may be a function (computed at load), `env` renames it."""
    meta = {"help": help, "secret": secret, "check": check, "env": env}
    if callable(default):
        return field(default_factory=default, metadata=meta)
    return field(default=Secret(default) if secret else default, metadata=meta)


def at_least(low: float) -> Check:
    return lambda value: None if value >= low else f"must be >= {low}"


def one_of(*choices: str) -> Check:
    return lambda value: None if value in choices else f"must be one of {', '.join(choices)}"


def networks(value: tuple[str, ...]) -> str | None:
    for item in value:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            return f"{item!r} is not an IP network"
    return None


def host_port(value: str) -> str | None:
    host, _, port = value.rpartition(":")
    return None if host and port.isdigit() else "must be HOST:PORT"


def host_port_or_empty(value: str) -> str | None:
    return host_port(value) if value else None


def smtp_scheme(value: str) -> str | None:
    # The value holds a password: the message must not repeat it.
    ok = not value or value.startswith(("smtp://", "smtps://"))
    return None if ok else "must start with smtp:// or smtps://"


def default_workers() -> int:
    # One worker per core: measured faster than 2 x cores (bench/ingest.py: 3.1-3.5k vs
    # 1.8-2.6k updates/s at 64 connections, p99 44-54 vs 72 ms) with a third less memory.
    return os.cpu_count() or 1


@dataclass(frozen=True)
class BotConfig:
    """One bot. Declared here: TGWEBHOOK_BOT_TOKEN etc. describe the single bot `default`; a
    TOML file (TGWEBHOOK_CONFIG) describes several, one [bots.<name>] table each."""

    name: str
    token: Secret = setting(
        "Bot API token (for getWebhookInfo, set-webhook, replies)", "", secret=True, env="bot_token"
    )
    secret_token: Secret = setting(
        "Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token", "", secret=True
    )
    # Deployment-wide when set by variable; a bot that has it runs without a secret.
    insecure_no_secret: bool = setting("Accept updates without a secret (loudly warned)", False)
    forward_url: str = setting("Bot backend that receives each update; empty = store only", "")
    forward_secret_token: Secret = setting("Secret header sent to the bot backend", "", secret=True)
    public_url: str = setting("Public base URL Telegram calls (https://host[:port])", "")
    max_connections: int = setting("Webhook max_connections passed to setWebhook (1-100)", 40)
    allowed_updates: tuple[str, ...] = setting(
        "Comma-separated update types for setWebhook; empty = all", ()
    )


@dataclass(frozen=True)
class Settings(FloodSettings):
    """The deployment's settings, parsed and checked (core.config.load_settings), and its bots."""

    bots: Mapping[str, BotConfig]
    config: str = setting("TOML file with [bots.<name>] tables for several bots", "")
    # receiver and storage
    db: str = setting("SQLite path (or a store URL)", "data/tgwebhook.db")
    listen: str = setting(
        "Public listener (/webhook/*, /livez only): what Telegram reaches",
        "127.0.0.1:8080",
        check=host_port,
    )
    ops_listen: str = setting(
        "Ops listener (/metrics, /health, /readyz); empty: LISTEN itself when that is loopback, "
        "else 127.0.0.1:9080",
        "",
        check=host_port_or_empty,
    )
    ops_token: Secret = setting(
        "Ops bearer token (operator role); it or OPS_USERS_FILE if OPS_LISTEN is public",
        "",
        secret=True,
    )
    ops_users_file: str = setting("Console users file (`name:role:hash` lines; basic auth)", "")
    header_timeout_seconds: float = setting(
        "Longest time a client may take to send a request's headers", 10.0, check=at_least(0.1)
    )
    body_timeout_seconds: float = setting(
        "Longest time a client may take to send a whole body", 30.0, check=at_least(0.1)
    )
    body_idle_timeout_seconds: float = setting(
        "Longest silence between two parts of a body", 10.0, check=at_least(0.1)
    )
    idle_timeout_seconds: int = setting(
        "Keep-alive: an idle connection is closed after this long", 30, check=at_least(1)
    )
    max_client_connections: int = setting(
        "Open connections per web worker; more are closed at once (logged)", 2000, check=at_least(1)
    )
    tls_cert_file: str = setting("PEM certificate the public listener serves TLS with", "")
    tls_key_file: str = setting("PEM private key of TLS_CERT_FILE (reloaded when changed)", "")
    workers: int = setting(
        "Web worker processes (default: one per core)", default_workers, check=at_least(1)
    )
    threads: int = setting("Threads per web worker for the non-webhook paths", 8, check=at_least(1))
    max_body_bytes: int = setting(
        "Largest accepted update body (413 above)", 1048576, check=at_least(1024)
    )
    ip_allowlist: bool = setting("Accept webhook calls only from ALLOWED_NETWORKS", False)
    allowed_networks: tuple[str, ...] = setting(
        "Source networks when the allowlist is on", TELEGRAM_NETWORKS, check=networks
    )
    trusted_proxies: tuple[str, ...] = setting(
        "Proxies whose X-Forwarded-For is believed", (), check=networks
    )
    dedup_retention_hours: float = setting(
        "How long an update_id is remembered (>= 25)", 25.0, check=at_least(25)
    )
    payload_retention_hours: float = setting("Body kept after delivery (h)", 0.0, check=at_least(0))
    chat_key_hmac_key: Secret = setting("HMAC key for chat keys at rest", "", secret=True)
    store_timeout_seconds: float = setting(
        "Longest wait for the store before answering 503", 5.0, check=at_least(0.05)
    )
    retry_after_seconds: int = setting("Retry-After sent with 503", 5, check=at_least(1))
    sqlite_synchronous: str = setting(
        "SQLite synchronous pragma (NORMAL or FULL)", "NORMAL", check=one_of("NORMAL", "FULL")
    )
    log_level: str = setting("Log level", "INFO", check=one_of("DEBUG", "INFO", "WARNING", "ERROR"))
    # Telegram side
    api_base: str = setting(
        "Bot API base URL (simulator or local Bot API server)", "https://api.telegram.org"
    )
    poll_interval_seconds: float = setting("getWebhookInfo poll interval", 15.0, check=at_least(1))
    sample_interval_seconds: float = setting("Chart sample interval (s)", 60.0, check=at_least(1))
    http_timeout_seconds: float = setting(
        "Timeout for Bot API and notifier calls", 10.0, check=at_least(0.1)
    )
    proxy_honour: tuple[str, ...] = setting("Proxy honours: drop_pending_updates,logOut,close", ())
    # alert channels (each on when set)
    alert_webhook_url: str = setting("Generic webhook (Slack-compatible JSON) for alerts", "")
    alert_telegram_chat_id: str = setting("Chat id that receives alerts via Telegram", "")
    alert_telegram_token: Secret = setting(
        "Separate bot token for alerts (recommended)", "", secret=True
    )
    alertmanager_url: str = setting("Alertmanager base URL (POST /api/v2/alerts)", "")
    smtp_url: Secret = setting(
        "smtp[s]://user:pass@host:port[?starttls=true] for email alerts",
        "",
        secret=True,
        check=smtp_scheme,
    )
    alert_email_to: tuple[str, ...] = setting("Alert email recipients", ())
    alert_email_from: str = setting("Alert email sender", "tgwebhook@localhost")
    alert_repeat_hours: float = setting(
        "Repeat a firing alert's notification this often", 4.0, check=at_least(0)
    )
    # rule thresholds
    backlog_threshold: int = setting(
        "pending_update_count that counts as a backlog", 100, check=at_least(1)
    )
    backlog_polls: int = setting(
        "Consecutive polls over the threshold before alerting", 2, check=at_least(1)
    )
    backlog_rising_minutes: float = setting(
        "Pending rising this long also alerts", 10.0, check=at_least(1)
    )
    poll_failures_threshold: int = setting(
        "Consecutive failed polls before poll_failing", 3, check=at_least(1)
    )
    receiver_silent_minutes: float = setting(
        "Telegram pending but nothing received this long", 5.0, check=at_least(1)
    )
    queue_age_threshold_seconds: float = setting(
        "Oldest undelivered update age that alerts", 300.0, check=at_least(1)
    )
    cert_expiry_days: int = setting(
        "Alert when the public certificate expires sooner", 14, check=at_least(1)
    )
    # forwarder
    forward_concurrency: int = setting("Chats delivered concurrently", 40, check=at_least(1))
    forward_timeout_seconds: float = setting(
        "Timeout of one POST to the bot backend", 30.0, check=at_least(0.1)
    )
    forward_max_attempts: int = setting(
        "Attempts before an update becomes a dead letter (not counting attempts while the bot "
        "fails in every chat)",
        25,
        check=at_least(1),
    )
    forward_max_age_hours: float = setting(
        "Age after which an undelivered update is dead", 24.0, check=at_least(0.001)
    )
    forward_backoff_cap_seconds: float = setting(
        "Longest wait between attempts", 300.0, check=at_least(0.01)
    )
    forward_poll_seconds: float = setting(
        "Safety-net poll of the queue; new updates wake the forwarder at once",
        5.0,
        check=at_least(0.05),
    )
    # scaling out (several replicas on one PostgreSQL store; see docs/scaling.md)
    leader_lease_seconds: float = setting(
        "Monitor leadership lease: one replica polls and alerts; another takes over after it",
        15.0,
        check=at_least(1),
    )


# The table's type column, from a field's annotation (a Secret is a str that hides itself).
TYPE_NAMES = {
    "str": "str",
    "Secret": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "tuple[str, ...]": "list",
}


def declared(cls: type, per_bot: bool) -> tuple[Setting, ...]:
    """The settings a dataclass declares, in field order (fields without metadata are not)."""
    return tuple(row_of(f, per_bot) for f in fields(cls) if "help" in f.metadata)


def row_of(declared_field: Field[Any], per_bot: bool) -> Setting:
    meta = declared_field.metadata
    default: Any = declared_field.default
    if default is MISSING:
        default = declared_field.default_factory
    return Setting(
        name=meta["env"] or declared_field.name,
        type=TYPE_NAMES[str(declared_field.type)],
        default=default.reveal() if isinstance(default, Secret) else default,
        help=meta["help"],
        secret=meta["secret"],
        check=meta["check"],
        attr=declared_field.name,
        per_bot=per_bot,
    )


SETTINGS: tuple[Setting, ...] = declared(BotConfig, per_bot=True) + declared(
    Settings, per_bot=False
)
