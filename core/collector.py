"""Values shared by all processes, read from the store at scrape time (queue, Telegram side).

Whichever gunicorn worker answers /metrics reads the same rows, so these never disagree
between workers and need no multiprocess files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.config import Settings
from core.delivery_errors import CLASSES, classify
from core.metrics import ALERTS, SPEC
from core.storage import ALERT_FIRING, StatusStore, StoreError

log = logging.getLogger(__name__)


def family(name: str) -> GaugeMetricFamily:
    spec = SPEC[name]
    return GaugeMetricFamily(name, spec.help, labels=list(spec.labels))


def polling_bots(settings: Settings) -> frozenset[str]:
    """Bots without a forward URL: their updates wait in the store for getUpdates."""
    return frozenset(name for name, bot in settings.bots.items() if not bot.forward_url)


def expected_webhook_url(public_url: str, bot: str) -> str:
    return f"{public_url.rstrip('/')}/webhook/{bot}" if public_url else ""


class StoreCollector(Collector):
    def __init__(self, store: StatusStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            yield from self._queue()
            yield from self._telegram()
            yield from self._alerts()
        except StoreError as exc:  # a scrape must not fail because the store is down
            log.warning("store collector skipped: %s", exc)

    def _queue(self) -> Iterator[GaugeMetricFamily]:
        depth = family("tgwebhook_queue_depth")
        age = family("tgwebhook_queue_oldest_age_seconds")
        dead = family("tgwebhook_dead_letters")
        pending = family("tgwebhook_getupdates_pending")
        last_poll = family("tgwebhook_getupdates_last_poll_timestamp_seconds")
        polling = polling_bots(self.settings)
        for stats in self.store.queue_stats(list(self.settings.bots), time.time(), polling):
            depth.add_metric([stats.bot], stats.depth)
            age.add_metric([stats.bot], stats.oldest_age_seconds)
            dead.add_metric([stats.bot], stats.dead_letters)
            if stats.bot in polling:  # a polling bot's queue is what getUpdates has not confirmed
                pending.add_metric([stats.bot], stats.depth)
        for bot in polling:
            polled_at = self.store.poll_cursor(bot).polled_at
            if polled_at is not None:  # never polled: absent, so an alert can tell it apart
                last_poll.add_metric([bot], polled_at)
        yield from (depth, age, dead, pending, last_poll)

    def _telegram(self) -> Iterator[GaugeMetricFamily]:
        names = (
            "tgwebhook_telegram_pending_updates",
            "tgwebhook_telegram_last_error_timestamp_seconds",
            "tgwebhook_telegram_last_error_info",
            "tgwebhook_telegram_webhook_url_match",
            "tgwebhook_telegram_poll_success_timestamp_seconds",
        )
        pending, error_at, error_info, url_match, success = (family(name) for name in names)
        for bot, config in self.settings.bots.items():
            last_ok = self.store.last_successful_poll(bot)
            if last_ok is not None:
                success.add_metric([bot], last_ok)
            obs = self.store.latest_observation(bot)
            if obs is None or not obs.ok:
                continue
            pending.add_metric([bot], obs.pending_update_count or 0)
            error_at.add_metric([bot], obs.last_error_date or 0)
            current = classify(obs.last_error_message)
            for kind in CLASSES:
                error_info.add_metric([bot, kind], 1 if kind == current else 0)
            expected = expected_webhook_url(config.public_url, bot)
            if expected:
                url_match.add_metric([bot], 1 if obs.url == expected else 0)
        yield from (pending, error_at, error_info, url_match, success)

    def _alerts(self) -> Iterator[GaugeMetricFamily]:
        firing = family("tgwebhook_alert_firing")
        states = {(s.bot, s.alert): s.state for s in self.store.alert_states()}
        for bot in self.settings.bots:
            for alert in ALERTS:  # every pair present, so absent() means "not scraped"
                value = 1 if states.get((bot, alert)) == ALERT_FIRING else 0
                firing.add_metric([bot, alert], value)
        expiry = family("tgwebhook_certificate_expiry_days")
        now = time.time()
        for check in self.store.certificate_checks():
            if check.bot in self.settings.bots and check.not_after is not None:
                expiry.add_metric([check.bot], round((check.not_after - now) / 86400, 3))
        yield from (firing, expiry)
