"""The one declaration of every setting. README's settings table is checked against it."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TELEGRAM_NETWORKS = ("149.154.160.0/20", "91.108.4.0/22")


@dataclass(frozen=True)
class Setting:
    name: str
    type: str
    default: Any
    help: str
    secret: bool = False
    check: Callable[[Any], str | None] | None = None


def at_least(low: float) -> Callable[[Any], str | None]:
    return lambda value: None if value >= low else f"must be >= {low}"


def one_of(*choices: str) -> Callable[[Any], str | None]:
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


def smtp_url(value: str) -> str | None:
    # The value holds a password: the message must not repeat it.
    ok = not value or value.startswith(("smtp://", "smtps://"))
    return None if ok else "must start with smtp:// or smtps://"


def default_workers() -> int:
    # One gthread worker per core: measured faster than 2 x cores (bench/ingest.py: 3.1-3.5k vs
    # 1.8-2.6k updates/s at 64 connections, p99 44-54 vs 72 ms) with a third less memory.
    return os.cpu_count() or 1


S = Setting
SETTINGS: tuple[Setting, ...] = (
    # single bot (a TOML file named by CONFIG describes several)
    S("bot_token", "str", "", "Bot API token (for getWebhookInfo, set-webhook, replies)", True),
    S("secret_token", "str", "", "Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token", True),
    S("insecure_no_secret", "bool", False, "Accept updates without a secret (loudly warned)"),
    S("forward_url", "str", "", "Bot backend that receives each update; empty = store only"),
    S("forward_secret_token", "str", "", "Secret header sent to the bot backend", True),
    S("public_url", "str", "", "Public base URL Telegram calls (https://host[:port])"),
    S("max_connections", "int", 40, "Webhook max_connections passed to setWebhook (1-100)"),
    S("allowed_updates", "list", (), "Comma-separated update types for setWebhook; empty = all"),
    S("config", "str", "", "TOML file with [bots.<name>] tables for several bots"),
    # receiver and storage
    S("db", "str", "data/tgwebhook.db", "SQLite path (or a store URL)"),
    S("listen", "str", "127.0.0.1:8080", "Address the web server binds", check=host_port),
    S(
        "workers",
        "int",
        default_workers,
        "Web worker processes (default: one per core)",
        check=at_least(1),
    ),
    S(
        "threads",
        "int",
        8,
        "Threads per web worker for the non-webhook paths (/health, /metrics)",
        check=at_least(1),
    ),
    S(
        "max_body_bytes",
        "int",
        1048576,
        "Largest accepted update body (413 above)",
        check=at_least(1024),
    ),
    S("ip_allowlist", "bool", False, "Accept webhook calls only from ALLOWED_NETWORKS"),
    S(
        "allowed_networks",
        "list",
        TELEGRAM_NETWORKS,
        "Source networks when the allowlist is on",
        check=networks,
    ),
    S("trusted_proxies", "list", (), "Proxies whose X-Forwarded-For is believed", check=networks),
    S(
        "dedup_retention_hours",
        "float",
        25.0,
        "How long an update_id is remembered (>= 25)",
        check=at_least(25),
    ),
    S(
        "payload_retention_hours",
        "float",
        24.0,
        "Raw body kept this long after delivery",
        check=at_least(0),
    ),
    S(
        "store_timeout_seconds",
        "float",
        5.0,
        "Longest wait for the store before answering 503",
        check=at_least(0.05),
    ),
    S("retry_after_seconds", "int", 5, "Retry-After sent with 503", check=at_least(1)),
    S(
        "sqlite_synchronous",
        "str",
        "NORMAL",
        "SQLite synchronous pragma (NORMAL or FULL)",
        check=one_of("NORMAL", "FULL"),
    ),
    S("log_level", "str", "INFO", "Log level", check=one_of("DEBUG", "INFO", "WARNING", "ERROR")),
    # Telegram side
    S(
        "api_base",
        "str",
        "https://api.telegram.org",
        "Bot API base URL (simulator or local Bot API server)",
    ),
    S("poll_interval_seconds", "float", 15.0, "getWebhookInfo poll interval", check=at_least(1)),
    S(
        "http_timeout_seconds",
        "float",
        10.0,
        "Timeout for Bot API and notifier calls",
        check=at_least(0.1),
    ),
    # alert channels (each on when set)
    S("alert_webhook_url", "str", "", "Generic webhook (Slack-compatible JSON) for alerts"),
    S("alert_telegram_chat_id", "str", "", "Chat id that receives alerts via Telegram"),
    S("alert_telegram_token", "str", "", "Separate bot token for alerts (recommended)", True),
    S("alertmanager_url", "str", "", "Alertmanager base URL (POST /api/v2/alerts)"),
    S(
        "smtp_url",
        "str",
        "",
        "smtp[s]://user:pass@host:port[?starttls=true] for email alerts",
        True,
        check=smtp_url,
    ),
    S("alert_email_to", "list", (), "Alert email recipients"),
    S("alert_email_from", "str", "tgwebhook@localhost", "Alert email sender"),
    S(
        "alert_repeat_hours",
        "float",
        4.0,
        "Repeat a firing alert's notification this often",
        check=at_least(0),
    ),
    # rule thresholds
    S(
        "backlog_threshold",
        "int",
        100,
        "pending_update_count that counts as a backlog",
        check=at_least(1),
    ),
    S(
        "backlog_polls",
        "int",
        2,
        "Consecutive polls over the threshold before alerting",
        check=at_least(1),
    ),
    S(
        "backlog_rising_minutes",
        "float",
        10.0,
        "Pending rising this long also alerts",
        check=at_least(1),
    ),
    S(
        "poll_failures_threshold",
        "int",
        3,
        "Consecutive failed polls before poll_failing",
        check=at_least(1),
    ),
    S(
        "receiver_silent_minutes",
        "float",
        5.0,
        "Telegram pending but nothing received this long",
        check=at_least(1),
    ),
    S(
        "queue_age_threshold_seconds",
        "float",
        300.0,
        "Oldest undelivered update age that alerts",
        check=at_least(1),
    ),
    S(
        "cert_expiry_days",
        "int",
        14,
        "Alert when the public certificate expires sooner",
        check=at_least(1),
    ),
    # forwarder
    S("forward_concurrency", "int", 40, "Chats delivered concurrently", check=at_least(1)),
    S(
        "forward_timeout_seconds",
        "float",
        30.0,
        "Timeout of one POST to the bot backend",
        check=at_least(0.1),
    ),
    S(
        "forward_max_attempts",
        "int",
        25,
        "Attempts before an update becomes a dead letter (not counting attempts while the bot "
        "fails in every chat)",
        check=at_least(1),
    ),
    S(
        "forward_max_age_hours",
        "float",
        24.0,
        "Age after which an undelivered update is dead",
        check=at_least(0.001),
    ),
    S(
        "forward_backoff_cap_seconds",
        "float",
        300.0,
        "Longest wait between attempts",
        check=at_least(0.01),
    ),
    # scaling out (several replicas on one PostgreSQL store; see docs/scaling.md)
    S(
        "leader_lease_seconds",
        "float",
        15.0,
        "Monitor leadership lease: one replica polls and alerts; another takes over after it",
        check=at_least(1),
    ),
)
