"""The overview's figures per bot: the same health checks /health runs (core/health.py), the
process metrics (ingest rate, ack latency, forward lag over about the last minute), and what
the store knows (queue, dead letters, Telegram's view, firing alerts, the last hour's samples).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from prometheus_client import REGISTRY
from prometheus_client.samples import Sample as MetricSample

from core import health, metrics
from core.collector import polling_bots
from core.config import Settings
from core.delivery_errors import ADVICE, classify
from core.storage import ALERT_FIRING, QueueStats, Store, StoreError
from ops.console import charts

CHART_FIELDS = ("received", "queue_depth", "lag_p99")
CHART_SECONDS = 3600.0


@dataclass(frozen=True)
class BotCard:
    bot: str
    status: str  # pass / warn / fail: the worst of this bot's /health checks
    ingest_rate: float | None  # updates per second over the window; None before one exists
    ack_p99: float | None  # seconds to acknowledge Telegram
    lag_p99: float | None  # seconds from arrival to the bot's 2xx
    queue_depth: int
    oldest_age: float
    dead_letters: int
    pending: int | None  # Telegram's pending_update_count (polled bots only)
    error_class: str
    error_advice: str
    error_at: float | None
    firing: tuple[str, ...]
    charts: tuple[tuple[str, str], ...]  # (field, SVG markup from charts.render)


@dataclass(frozen=True)
class Snapshot:
    at: float
    status: str
    store_error: str | None
    cards: tuple[BotCard, ...]


class Overview:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.limits = health.Limits(
            settings.queue_age_threshold_seconds,
            settings.backlog_threshold,
            settings.poll_interval_seconds,
        )
        self.polled = [name for name, bot in settings.bots.items() if bot.token]
        self.polling = polling_bots(settings)
        now = time.time()
        self.windows = {name: health.LagWindow(read(name), now) for name in WINDOWED}

    def snapshot(self, now: float | None = None) -> Snapshot:
        now = time.time() if now is None else now
        windows = {name: window.observe(read(name), now) for name, window in self.windows.items()}
        error, checks, stats = self.checks(windows[LAG], now)
        document = health.assemble(error, checks, now)
        cards = tuple(self.card(s, checks, windows, now) for s in stats) if not error else ()
        return Snapshot(now, document["status"], error, cards)

    def checks(self, lag: tuple, now: float) -> tuple[str | None, dict, list[QueueStats]]:
        """What /health computes, from the same functions, plus the queue figures."""
        checks: dict = {}
        stats: list[QueueStats] = []
        try:
            self.store.check_writable()
            stats = self.store.queue_stats(list(self.settings.bots), now, self.polling)
            checks |= health.queue_checks(stats, self.limits)
            polled_at = {bot: self.store.poll_cursor(bot).polled_at for bot in self.polling}
            checks |= health.poll_checks(stats, polled_at, self.limits, now)
            observations = {bot: self.store.latest_observation(bot) for bot in self.polled}
            last_ok = {bot: self.store.last_successful_poll(bot) for bot in self.polled}
            checks |= health.telegram_checks(observations, last_ok, self.limits, now)
        except StoreError as exc:
            return str(exc), checks, []
        checks |= health.lag_checks(lag, self.limits)
        return None, checks, stats

    def card(self, stats: QueueStats, checks: dict, windows: dict, now: float) -> BotCard:
        bot = stats.bot
        observation = self.store.latest_observation(bot) if bot in self.polled else None
        message = observation.last_error_message if observation and observation.ok else ""
        firing = tuple(
            state.summary or state.alert
            for state in self.store.alert_states(bot)
            if state.state == ALERT_FIRING
        )
        return BotCard(
            bot=bot,
            status=worst(checks, bot),
            ingest_rate=rate(windows[INGEST], bot),
            ack_p99=p99(windows[ACK], bot),
            lag_p99=p99(windows[LAG], bot),
            queue_depth=stats.depth,
            oldest_age=round(stats.oldest_age_seconds, 1),
            dead_letters=stats.dead_letters,
            pending=observation.pending_update_count if observation and observation.ok else None,
            error_class=classify(message),
            error_advice=ADVICE[classify(message)],
            error_at=observation.last_error_date if observation else None,
            firing=firing,
            charts=self.charts(bot, now),
        )

    def charts(self, bot: str, now: float) -> tuple[tuple[str, str], ...]:
        samples = self.store.samples(bot, now - CHART_SECONDS)
        return tuple((field, charts.render(samples, field)) for field in CHART_FIELDS)


def worst(checks: dict, bot: str) -> str:
    ranks = [
        health.RANK[entry["status"]]
        for entries in checks.values()
        for entry in entries
        if entry.get("componentId") == bot
    ]
    return next(name for name, rank in health.RANK.items() if rank == max(ranks, default=0))


def p99(window: tuple, bot: str) -> float | None:
    before, after = window
    recent = health.window_buckets(before.buckets.get(bot, ()), after.buckets.get(bot, ()))
    value = health.quantile(0.99, recent)
    return None if value is None else round(value, 4)


def rate(window: tuple, bot: str) -> float | None:
    before, after = window
    span = after.at - before.at
    if span < 1.0:
        return None
    recent = health.window_buckets(before.buckets.get(bot, ()), after.buckets.get(bot, ()))
    return round(recent[-1][1] / span, 2) if recent else 0.0


# -- process metrics, summed over every process as ops/views.py does for /metrics ----------
INGEST, ACK, LAG = "tgwebhook_updates_total", "tgwebhook_request_duration_seconds", "forward_lag"
WINDOWED = (INGEST, ACK, LAG)


def read(name: str) -> dict[str, metrics.Buckets]:
    """Per bot: cumulative buckets of a histogram, or a counter as one (+Inf, total) bucket."""
    if name == LAG:
        return metrics.forward_lag_buckets()
    if name == ACK:
        return metrics.bucket_table(samples_named(name + "_bucket", "histogram"))
    totals: dict[str, float] = defaultdict(float)
    for sample in samples_named(name, "counter"):
        totals[sample.labels["bot"]] += sample.value
    return {bot: ((float("inf"), total),) for bot, total in totals.items()}


def samples_named(name: str, kind: str) -> list[MetricSample]:
    families = metrics.merged_families(kind) if metrics.is_multiprocess() else REGISTRY.collect()
    return [sample for family in families for sample in family.samples if sample.name == name]
