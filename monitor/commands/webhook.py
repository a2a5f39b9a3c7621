"""What the webhook commands decide: which bots, which URL, which secret (generated once into
a 0600 file next to a SQLite store, where the appliance reads it at start), and settings that
load even before a secret exists."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from core.collector import expected_webhook_url
from core.config import (
    SECRET_TOKEN,
    ConfigError,
    Secret,
    Settings,
    generated_secret_path,
    load_settings,
)
from core.telegram import TelegramClient

# The problem text core.config reports for a bot without a secret token.
MISSING_SECRET = "no secret token"
TELEGRAM_SECRET_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
)


def load_for_setup() -> tuple[Settings, bool]:
    """Settings even when secrets are missing (set-webhook is how one gets them).

    Returns (settings, generate): `generate` is True when a secret is missing and insecure
    mode was not asked for, so set-webhook should create one.
    """
    try:
        return load_settings(), False
    except ConfigError as exc:
        if not all(MISSING_SECRET in problem for problem in exc.problems):
            raise
    return load_settings({**os.environ, "TGWEBHOOK_INSECURE_NO_SECRET": "true"}), True


def webhook_url(settings: Settings, bot: str) -> str:
    return expected_webhook_url(settings.bots[bot].public_url or settings.public_url, bot)


class SetupError(Exception):
    """set-webhook cannot go on for this bot; the message says what to do instead."""


def secret_path(settings: Settings, bot: str) -> Path:
    path = generated_secret_path(settings.db, bot)
    if path is None:
        raise SetupError(
            "no secret token configured; with a shared PostgreSQL store every replica needs the "
            "same one, so generate it yourself and give it to all of them as "
            "TGWEBHOOK_SECRET_TOKEN_FILE (or secret_token_file in the TOML file)"
        )
    return path


def new_secret() -> str:
    # token_urlsafe already uses Telegram's alphabet; filter anyway, the header is strict.
    return "".join(c for c in secrets.token_urlsafe(32) if c in TELEGRAM_SECRET_CHARS)


def secret_from_file(path: Path) -> tuple[Secret, bool]:
    """The secret kept in `path`, created (mode 0600) if absent; (secret, created)."""
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        value = ""
    if SECRET_TOKEN.match(value):
        return Secret(value), False
    path.parent.mkdir(parents=True, exist_ok=True)
    value = new_secret()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to an existing file
    return Secret(value), True


def how_to_configure(path: Path) -> str:
    return f"the appliance reads {path} when it starts; restart it if it is running"


def setup_or_exit() -> tuple[Settings, bool]:
    try:
        return load_for_setup()
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
