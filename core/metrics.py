"""Every metric tgwebhook exports, declared once. README's metrics table is checked against it.

Counters and histograms live in the process that observes them (multiprocess mode under
gunicorn and `serve`). Values shared by all processes (queue, Telegram side, alerts) are *not*
here as objects: `core.collector` reads them from the store at scrape time, so whichever
process answers `/metrics` tells the same truth.
"""

from __future__ import annotations

import glob
import os
import platform
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.samples import Sample

VERSION = "0.1.0"

# Ack latency is milliseconds when healthy; the tail buckets catch lock waits and timeouts.
ACK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
FORWARD_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# What the appliance adds (ack -> bot 2xx): ~1 ms when the chat is free, a minute in a backlog.
LAG_BUCKETS = (0.001, 0.0025, *FORWARD_BUCKETS)

REQUEST_OUTCOMES = (
    "accepted",  # new, valid, stored
    "duplicate",  # already stored within retention: 200, not forwarded again
    "unknown_type",  # authenticated, stored, but no update field we know
    "schema_deviation",  # known type, but fields missing or of the wrong JSON type
    "unauthorized",
    "forbidden",
    "unsupported_media_type",
    "too_large",
    "bad_request",
    "store_failed",
)
# Bot API calls through the proxy (and the forwarder's webhook replies): what became of each.
BOTAPI_OUTCOMES = (
    "ok",  # Telegram answered 2xx
    "error",  # Telegram answered 4xx/5xx other than 429
    "flood_wait",  # Telegram answered 429
    "shaped",  # the shaper answered 429 itself: the wait was past the bound
    "local",  # answered by the appliance (getUpdates, intercepted webhook calls)
    "failed",  # no answer from Telegram (connection refused, timeout): 502/504
)
# retry_after seen from seconds to many hours; shaping waits are sub-second to a minute.
FLOOD_WAIT_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0)
SHAPING_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
FORWARD_RESULTS = ("delivered", "retry", "dead", "reply_ok", "reply_failed")
NOTIFY_RESULTS = ("sent", "retry", "failed")
CHANNELS = ("telegram", "webhook", "alertmanager", "email")
# Alert names the monitor raises (monitor/rules.py has one rule per name).
ALERTS = (
    "backlog",
    "delivery_errors",
    "webhook_missing",
    "url_mismatch",
    "config_drift",
    "poll_failing",
    "receiver_silent",
    "sync_error",
    "queue_backlog",
    "dead_letters",
    "cert_expiry",
)


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: str
    help: str
    labels: tuple[str, ...]
    source: str  # "process" (observed here) or "store" (read at scrape time)


SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "tgwebhook_build_info",
        "gauge",
        "Build information (always 1)",
        ("version", "python"),
        "process",
    ),
    MetricSpec(
        "tgwebhook_requests_total",
        "counter",
        "Webhook requests by outcome",
        ("bot", "outcome"),
        "process",
    ),
    MetricSpec(
        "tgwebhook_request_duration_seconds",
        "histogram",
        "Time to acknowledge a webhook request",
        ("bot",),
        "process",
    ),
    MetricSpec(
        "tgwebhook_updates_total",
        "counter",
        "New updates stored, by update type",
        ("bot", "type"),
        "process",
    ),
    MetricSpec(
        "tgwebhook_duplicates_total",
        "counter",
        "Re-delivered updates recognised as duplicates",
        ("bot",),
        "process",
    ),
    MetricSpec(
        "tgwebhook_store_failures_total",
        "counter",
        "Updates refused because the store failed",
        ("bot",),
        "process",
    ),
    MetricSpec(
        "tgwebhook_forward_duration_seconds",
        "histogram",
        "Duration of one POST to the bot backend",
        ("bot",),
        "process",
    ),
    MetricSpec(
        "tgwebhook_forward_attempts_total",
        "counter",
        "Delivery attempts to the bot backend by result",
        ("bot", "result"),
        "process",
    ),
    MetricSpec(
        "tgwebhook_forward_lag_seconds",
        "histogram",
        "Time from acknowledging an update to Telegram to the bot's 2xx",
        ("bot",),
        "process",
    ),
    MetricSpec(
        "tgwebhook_telegram_poll_errors_total",
        "counter",
        "Failed getWebhookInfo polls",
        ("bot",),
        "process",
    ),
    MetricSpec(
        "tgwebhook_notifications_total",
        "counter",
        "Alert notifications by channel and result",
        ("channel", "result"),
        "process",
    ),
    MetricSpec(
        "tgwebhook_botapi_requests_total",
        "counter",
        "Bot API calls through the appliance by method (spec name, else other) and outcome",
        ("bot", "method", "outcome"),
        "process",
    ),
    MetricSpec(
        "tgwebhook_botapi_request_duration_seconds",
        "histogram",
        "Duration of a Bot API call through the appliance, shaping wait included",
        ("bot", "method"),
        "process",
    ),
    MetricSpec(
        "tgwebhook_botapi_flood_wait_seconds",
        "histogram",
        "retry_after of the 429 answers Telegram gave",
        ("bot",),
        "process",
    ),
    MetricSpec(
        "tgwebhook_botapi_shaping_delay_seconds",
        "histogram",
        "Time a Bot API call was held by the flood shaper",
        ("bot",),
        "process",
    ),
    MetricSpec(
        "tgwebhook_getupdates_pending",
        "gauge",
        "Updates stored for a polling bot and not yet confirmed by getUpdates",
        ("bot",),
        "store",
    ),
    MetricSpec(
        "tgwebhook_getupdates_last_poll_timestamp_seconds",
        "gauge",
        "Time of a polling bot's last getUpdates call",
        ("bot",),
        "store",
    ),
    MetricSpec(
        "tgwebhook_queue_depth", "gauge", "Updates stored and not yet delivered", ("bot",), "store"
    ),
    MetricSpec(
        "tgwebhook_queue_oldest_age_seconds",
        "gauge",
        "Age of the oldest undelivered update",
        ("bot",),
        "store",
    ),
    MetricSpec(
        "tgwebhook_dead_letters",
        "gauge",
        "Updates that exhausted their delivery budget",
        ("bot",),
        "store",
    ),
    MetricSpec(
        "tgwebhook_telegram_pending_updates",
        "gauge",
        "pending_update_count from getWebhookInfo",
        ("bot",),
        "store",
    ),
    MetricSpec(
        "tgwebhook_telegram_last_error_timestamp_seconds",
        "gauge",
        "last_error_date from getWebhookInfo",
        ("bot",),
        "store",
    ),
    MetricSpec(
        "tgwebhook_telegram_last_error_info",
        "gauge",
        "Class of Telegram's last delivery error (1)",
        ("bot", "class"),
        "store",
    ),
    MetricSpec(
        "tgwebhook_telegram_webhook_url_match",
        "gauge",
        "1 if Telegram's webhook URL is ours",
        ("bot",),
        "store",
    ),
    MetricSpec(
        "tgwebhook_telegram_poll_success_timestamp_seconds",
        "gauge",
        "Time of the last successful poll",
        ("bot",),
        "store",
    ),
    MetricSpec(
        "tgwebhook_alert_firing", "gauge", "1 while an alert is firing", ("bot", "alert"), "store"
    ),
    MetricSpec(
        "tgwebhook_certificate_expiry_days",
        "gauge",
        "Days until the public URL's TLS certificate expires",
        ("bot",),
        "store",
    ),
)

SPEC = {spec.name: spec for spec in SPECS}


def _help(name: str) -> str:
    return SPEC[name].help


def _labels(name: str) -> tuple[str, ...]:
    return SPEC[name].labels


BUILD_INFO = Gauge(
    "tgwebhook_build_info",
    _help("tgwebhook_build_info"),
    _labels("tgwebhook_build_info"),
    multiprocess_mode="max",
)
REQUESTS = Counter(
    "tgwebhook_requests_total",
    _help("tgwebhook_requests_total"),
    _labels("tgwebhook_requests_total"),
)
REQUEST_DURATION = Histogram(
    "tgwebhook_request_duration_seconds",
    _help("tgwebhook_request_duration_seconds"),
    _labels("tgwebhook_request_duration_seconds"),
    buckets=ACK_BUCKETS,
)
UPDATES = Counter(
    "tgwebhook_updates_total", _help("tgwebhook_updates_total"), _labels("tgwebhook_updates_total")
)
DUPLICATES = Counter(
    "tgwebhook_duplicates_total",
    _help("tgwebhook_duplicates_total"),
    _labels("tgwebhook_duplicates_total"),
)
STORE_FAILURES = Counter(
    "tgwebhook_store_failures_total",
    _help("tgwebhook_store_failures_total"),
    _labels("tgwebhook_store_failures_total"),
)
FORWARD_DURATION = Histogram(
    "tgwebhook_forward_duration_seconds",
    _help("tgwebhook_forward_duration_seconds"),
    _labels("tgwebhook_forward_duration_seconds"),
    buckets=FORWARD_BUCKETS,
)
FORWARD_ATTEMPTS = Counter(
    "tgwebhook_forward_attempts_total",
    _help("tgwebhook_forward_attempts_total"),
    _labels("tgwebhook_forward_attempts_total"),
)
FORWARD_LAG = Histogram(
    "tgwebhook_forward_lag_seconds",
    _help("tgwebhook_forward_lag_seconds"),
    _labels("tgwebhook_forward_lag_seconds"),
    buckets=LAG_BUCKETS,
)
POLL_ERRORS = Counter(
    "tgwebhook_telegram_poll_errors_total",
    _help("tgwebhook_telegram_poll_errors_total"),
    _labels("tgwebhook_telegram_poll_errors_total"),
)
NOTIFICATIONS = Counter(
    "tgwebhook_notifications_total",
    _help("tgwebhook_notifications_total"),
    _labels("tgwebhook_notifications_total"),
)

BOTAPI_REQUESTS = Counter(
    "tgwebhook_botapi_requests_total",
    _help("tgwebhook_botapi_requests_total"),
    _labels("tgwebhook_botapi_requests_total"),
)
BOTAPI_DURATION = Histogram(
    "tgwebhook_botapi_request_duration_seconds",
    _help("tgwebhook_botapi_request_duration_seconds"),
    _labels("tgwebhook_botapi_request_duration_seconds"),
    buckets=FORWARD_BUCKETS,
)
BOTAPI_FLOOD_WAIT = Histogram(
    "tgwebhook_botapi_flood_wait_seconds",
    _help("tgwebhook_botapi_flood_wait_seconds"),
    _labels("tgwebhook_botapi_flood_wait_seconds"),
    buckets=FLOOD_WAIT_BUCKETS,
)
BOTAPI_SHAPING_DELAY = Histogram(
    "tgwebhook_botapi_shaping_delay_seconds",
    _help("tgwebhook_botapi_shaping_delay_seconds"),
    _labels("tgwebhook_botapi_shaping_delay_seconds"),
    buckets=SHAPING_BUCKETS,
)


def precreate(bots: Iterable[str], update_types: Iterable[str]) -> None:
    """Create every known label combination at 0, so rate() and absent() work from the start."""
    BUILD_INFO.labels(VERSION, platform.python_version()).set(1)
    types = tuple(update_types) + ("unknown",)
    for bot in bots:
        for outcome in REQUEST_OUTCOMES:
            REQUESTS.labels(bot, outcome)
        for kind in types:
            UPDATES.labels(bot, kind)
        REQUEST_DURATION.labels(bot)
        DUPLICATES.labels(bot)
        STORE_FAILURES.labels(bot)
        FORWARD_DURATION.labels(bot)
        FORWARD_LAG.labels(bot)
        POLL_ERRORS.labels(bot)
        BOTAPI_FLOOD_WAIT.labels(bot)
        BOTAPI_SHAPING_DELAY.labels(bot)
        # sendMessage is what floods: its 429 and shaped rates exist (at 0) before the first one.
        BOTAPI_DURATION.labels(bot, "sendMessage")
        for outcome in BOTAPI_OUTCOMES:
            if outcome != "local":  # the appliance never answers a send itself
                BOTAPI_REQUESTS.labels(bot, "sendMessage", outcome)
        for result in FORWARD_RESULTS:
            FORWARD_ATTEMPTS.labels(bot, result)
    for channel in CHANNELS:
        for result in NOTIFY_RESULTS:
            NOTIFICATIONS.labels(channel, result)


def is_multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


Buckets = tuple[tuple[float, float], ...]  # (upper bound, cumulative count), ascending


def forward_lag_buckets() -> dict[str, Buckets]:
    """Cumulative FORWARD_LAG buckets per bot, summed over every process (the forwarder observes
    them, a web worker answers /health), so any process can tell the lag."""
    families = merged_families("histogram") if is_multiprocess() else FORWARD_LAG.collect()
    samples = [
        s
        for family in families
        if family.name == "tgwebhook_forward_lag_seconds"
        for s in family.samples
    ]
    return bucket_table(samples)


def merged_families(kind: str) -> list[Metric]:
    """Every process's families of one kind ("counter", "histogram"...) from the multiprocess
    files, summed. A file another process is creating this instant is still empty (its header
    not written): it holds no samples yet, and reading it would raise, so it is left out."""
    pattern = os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], f"{kind}_*.db")
    files = [path for path in glob.glob(pattern) if has_header(path)]
    return list(MultiProcessCollector.merge(files, accumulate=True))


def has_header(path: str) -> bool:
    try:
        return os.path.getsize(path) >= 8  # prometheus_client's mmap header: used bytes, pad
    except OSError:  # removed meanwhile
        return False


def bucket_table(samples: Iterable[Sample]) -> dict[str, Buckets]:
    per_bot: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for sample in samples:
        if sample.name.endswith("_bucket"):
            per_bot[sample.labels["bot"]].append((float(sample.labels["le"]), sample.value))
    return {bot: tuple(sorted(rows)) for bot, rows in per_bot.items()}
