"""Alert channels. Each is on when its settings are present (see docs/monitor.md)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from core.config import Settings
from core.telegram import TelegramClient
from monitor.notifiers.alertmanager import AlertmanagerNotifier
from monitor.notifiers.base import Notifier
from monitor.notifiers.email import EmailNotifier, parse_smtp_url
from monitor.notifiers.telegram import TelegramNotifier
from monitor.notifiers.webhook import WebhookNotifier

log = logging.getLogger("monitor.notifiers")


def alert_clients(settings: Settings) -> dict[str, TelegramClient]:
    """Per bot, the client Telegram alerts go through: the alert bot's, else the bot's own."""
    alert_token = settings.alert_telegram_token
    clients = {}
    for name, bot in settings.bots.items():
        token = alert_token if alert_token else bot.token
        if token:
            clients[name] = TelegramClient(token, settings.api_base, settings.http_timeout_seconds)
    return clients


def build_notifiers(settings: Settings) -> dict[str, Notifier]:
    """The enabled channels, keyed by channel name."""
    timeout = settings.http_timeout_seconds
    found: dict[str, Notifier] = {}
    if settings.alert_webhook_url:
        found["webhook"] = WebhookNotifier(settings.alert_webhook_url, timeout)
    if settings.alert_telegram_chat_id:
        if not settings.alert_telegram_token:
            log.warning(
                "Telegram alerts go out through the monitored bot's own token, which "
                "fails when that bot is in trouble (revoked, flood-limited); set "
                "TGWEBHOOK_ALERT_TELEGRAM_TOKEN to a separate alert bot"
            )
        found["telegram"] = TelegramNotifier(
            settings.alert_telegram_chat_id, alert_clients(settings)
        )
    if settings.alertmanager_url:
        found["alertmanager"] = AlertmanagerNotifier(settings.alertmanager_url, timeout)
    if settings.smtp_url and settings.alert_email_to:
        target = parse_smtp_url(settings.smtp_url.reveal())
        found["email"] = EmailNotifier(
            target, settings.alert_email_from, settings.alert_email_to, timeout
        )
    return found


def channels_for(notifiers: Mapping[str, Notifier], bot: str) -> tuple[str, ...]:
    """Channels a transition of `bot` is queued for (Telegram needs a token to send with)."""
    channels = []
    for name, notifier in notifiers.items():
        if isinstance(notifier, TelegramNotifier) and bot not in notifier.clients:
            continue
        channels.append(name)
    return tuple(channels)
