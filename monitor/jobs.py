"""The monitor's scheduled jobs, as module-level functions of one `MonitorContext`.

Each job is an edge: it catches everything, logs it and returns, so one bad run (Telegram
down, store locked) never stops the scheduler.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from core import metrics
from core.certificates import CertificateError, is_self_signed, read_certificate
from core.collector import expected_webhook_url, polling_bots
from core.config import Settings
from core.storage import ALERT_FIRING, MonitorStore
from core.telegram import TelegramClient
from monitor import alerts, certificate, outbox, poller, rules
from monitor.notifiers import build_notifiers, channels_for
from monitor.notifiers.alertmanager import AlertmanagerNotifier
from monitor.notifiers.base import Notifier, NotifyError, RetryPolicy

log = logging.getLogger(__name__)
# Long enough for the longest rule window and for a look back after an incident.
OBSERVATION_RETENTION_SECONDS = 3 * 86400
NOTIFICATION_RETENTION_SECONDS = 30 * 86400
# The console charts the last hour; two days leave room to look back after an incident.
SAMPLE_RETENTION_SECONDS = 48 * 3600


@dataclass(frozen=True)
class MonitorContext:
    settings: Settings
    store: MonitorStore
    clients: Mapping[str, TelegramClient]  # bots with a token: these are polled
    notifiers: Mapping[str, Notifier]
    thresholds: rules.Thresholds
    policy: RetryPolicy = RetryPolicy()

    @classmethod
    def build(
        cls, settings: Settings, store: MonitorStore, policy: RetryPolicy | None = None
    ) -> MonitorContext:
        timeout = settings.http_timeout_seconds
        clients = {
            name: TelegramClient(bot.token, settings.api_base, timeout)
            for name, bot in settings.bots.items()
            if bot.token
        }
        return cls(
            settings,
            store,
            clients,
            build_notifiers(settings),
            rules.Thresholds.from_settings(settings),
            policy or RetryPolicy(),
        )

    def public_url(self, bot: str) -> str:
        return self.settings.bots[bot].public_url


def watch_bot(ctx: MonitorContext, bot: str) -> None:
    """Poll getWebhookInfo (when the bot has a token), then judge and move alert states."""
    try:
        now = time.time()
        client = ctx.clients.get(bot)
        if client is not None:
            poller.poll(client, ctx.store, bot, now)
        evaluate_bot(ctx, bot, time.time())
    except Exception:
        log.exception("watching %s failed", bot)


def evaluate_bot(ctx: MonitorContext, bot: str, now: float) -> list:
    evaluation = rules.evaluate(gather_facts(ctx, bot, now), ctx.thresholds, now)
    repeat = ctx.settings.alert_repeat_hours * 3600
    return alerts.apply(ctx.store, bot, evaluation, now, repeat, channels_for(ctx.notifiers, bot))


def gather_facts(ctx: MonitorContext, bot: str, now: float) -> rules.Facts:
    config, store = ctx.settings.bots[bot], ctx.store
    public = ctx.public_url(bot)
    https = public.startswith("https://")
    firing = frozenset(s.alert for s in store.alert_states(bot) if s.state == ALERT_FIRING)
    return rules.Facts(
        bot=bot,
        window=tuple(store.recent_observations(bot, ctx.thresholds.window_size())),
        polled=bot in ctx.clients,
        # A polling bot's queue is what getUpdates has not confirmed (core/storage/ingest.py).
        queue=store.queue_stats([bot], now, () if config.forward_url else (bot,))[0],
        expected_url=expected_webhook_url(public, bot),
        max_connections=config.max_connections,
        allowed_updates=config.allowed_updates,
        https=https,
        certificate=store.certificate_check(bot) if https else None,
        firing=firing,
    )


def deliver_notifications(ctx: MonitorContext) -> None:
    try:
        outbox.deliver_due(ctx.store, ctx.notifiers, ctx.policy, time.time())
    except Exception:
        log.exception("delivering notifications failed")


def prune(ctx: MonitorContext) -> None:
    """Retention: forget old update ids, purge delivered bodies, drop old observations, chart
    rows and the flood state of keys that hold nothing."""
    settings, now = ctx.settings, time.time()
    try:
        forgotten, purged = ctx.store.prune(
            now, settings.dedup_retention_hours * 3600, settings.payload_retention_hours * 3600
        )
        observations = ctx.store.prune_observations(now - OBSERVATION_RETENTION_SECONDS)
        ctx.store.prune_notifications(now - NOTIFICATION_RETENTION_SECONDS)
        ctx.store.prune_samples(now - SAMPLE_RETENTION_SECONDS)
        ctx.store.prune_flood_keys(now)  # one row per chat ever written to, else
        log.info(
            "retention: %d update ids forgotten, %d bodies purged, %d observations dropped",
            forgotten,
            purged,
            observations,
        )
    except Exception:
        log.exception("retention pruning failed")


def record_samples(ctx: MonitorContext) -> None:
    """One chart row per bot (core/storage/samples.py), for the console's charts."""
    interval, now = ctx.settings.sample_interval_seconds, time.time()
    polling = polling_bots(ctx.settings)
    try:
        ctx.store.record_samples(
            [
                ctx.store.measure_sample(
                    bot, sample_start(ctx, bot, now, interval), now, bot in polling
                )
                for bot in ctx.settings.bots
            ]
        )
    except Exception:
        log.exception("recording chart samples failed")


def sample_start(ctx: MonitorContext, bot: str, now: float, interval: float) -> float:
    """A row starts where the bot's last one ended, so rows tile time across restarts and
    leader changes. After a longer gap (the monitor was down) it covers one interval only: the
    chart then shows the gap instead of one row that spreads an outage's traffic over it."""
    last = ctx.store.last_sample_at(bot)
    if last is None or not now - 2 * interval <= last < now:
        return now - interval
    return last


def https_bots(ctx: MonitorContext) -> list[str]:
    return [bot for bot in ctx.settings.bots if ctx.public_url(bot).startswith("https://")]


def check_certificates(ctx: MonitorContext, ca_file: str | None = None) -> None:
    """Store each https public URL's certificate expiry (or why it is not valid)."""
    ca_file = ca_file or self_signed_trust(ctx.settings.tls_cert_file)
    for bot in https_bots(ctx):
        url = ctx.public_url(bot)
        try:
            check = certificate.inspect(
                bot, url, time.time(), ctx.settings.http_timeout_seconds, ca_file
            )
            ctx.store.save_certificate_check(check)
        except OSError as exc:  # unreachable: delivery_errors and doctor report that
            log.warning("certificate check of %s could not connect: %s", bot, exc)
        except Exception:
            log.exception("certificate check of %s failed", bot)


def self_signed_trust(cert_file: str) -> str | None:
    """A self-signed certificate we serve is the one Telegram trusts once it is uploaded
    (set-webhook does so): verify against it, not against the public CAs."""
    if not cert_file:
        return None
    try:
        return cert_file if is_self_signed(read_certificate(cert_file)) else None
    except CertificateError:
        return None


def refresh_alertmanager(ctx: MonitorContext) -> None:
    """Re-send firing alerts so Alertmanager does not time them out (as Prometheus does)."""
    notifier = ctx.notifiers.get("alertmanager")
    if not isinstance(notifier, AlertmanagerNotifier):
        return
    try:
        firing = [s for s in ctx.store.alert_states() if s.state == ALERT_FIRING]
        if notifier.refresh(firing):
            metrics.NOTIFICATIONS.labels("alertmanager", "sent").inc()
    except NotifyError as exc:
        metrics.NOTIFICATIONS.labels("alertmanager", "retry").inc()
        log.warning("alertmanager refresh failed: %s", exc)
    except Exception:
        log.exception("alertmanager refresh failed")
