"""What the webhook commands decide: which bots, which URL, which secret, and settings that
load even before a secret exists (set-webhook is how a bot gets one; core.config keeps it)."""

from __future__ import annotations

import sys

from core.collector import expected_webhook_url
from core.config import (
    BotConfig,
    ConfigError,
    GeneratedSecret,
    Settings,
    ensure_generated_secret,
    load_settings,
)
from core.telegram import TelegramClient


def webhook_url(settings: Settings, bot: str) -> str:
    return expected_webhook_url(settings.bots[bot].public_url, bot)


def needs_generated_secret(bot: BotConfig) -> bool:
    """No secret configured, none generated yet, and insecure mode not asked for."""
    return not bot.secret_token and not bot.insecure_no_secret


def generate_secret(settings: Settings, bot: str) -> GeneratedSecret:
    """Raises core.config.NoGeneratedSecret (shared store) or OSError."""
    return ensure_generated_secret(settings.db, bot)


def how_to_configure(generated: GeneratedSecret) -> str:
    return f"the appliance reads {generated.path} when it starts; restart it if it is running"


def setup_or_exit() -> Settings:
    """Settings even when a bot has no secret yet; exit 2 on any other problem."""
    try:
        return load_settings(require_secrets=False)
    except ConfigError as exc:
        print(f"tgwebhook: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def selected_bots(settings: Settings, bot: str | None) -> list[str]:
    if bot is None:
        return list(settings.bots)
    if bot not in settings.bots:
        print(
            f"tgwebhook: no bot named {bot!r} (known: {', '.join(settings.bots)})", file=sys.stderr
        )
        raise SystemExit(2)
    return [bot]


def client_for(settings: Settings, bot: str) -> TelegramClient:
    token = settings.bots[bot].token
    return TelegramClient(token, settings.api_base, settings.http_timeout_seconds)
