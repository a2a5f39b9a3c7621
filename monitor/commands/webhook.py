"""What the webhook commands decide: which bots, which URL, which secret, and settings that
load even before a secret exists (set-webhook is how a bot gets one; core.config keeps it)."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

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


# Telegram calls webhooks on these ports only (a local Bot API server, on any).
TELEGRAM_PORTS = (443, 80, 88, 8443)


class Refused(Exception):
    """set-webhook will not register: Telegram would take the call, then fail every delivery."""


def check_port(public_url: str, any_port: bool) -> None:
    parts = urlsplit(public_url)
    port = parts.port or 443
    if parts.scheme == "https" and port not in TELEGRAM_PORTS and not any_port:
        raise Refused(
            f"TGWEBHOOK_PUBLIC_URL uses port {port}; Telegram calls only 443, 80, 88 or 8443 "
            "(--any-port for a local Bot API server)"
        )


def certificate_to_upload(settings: Settings, bot: str, given: str | None) -> bytes | None:
    """The PEM to upload: `given` (--certificate), else TGWEBHOOK_TLS_CERT_FILE when it is
    self-signed (one from a public CA needs no upload). Raises Refused when the file is not a
    certificate or is for another host than the public URL's."""
    path = given or settings.tls_cert_file
    if not path:
        return None
    # cryptography takes a tenth of a second to import: only when a certificate is involved.
    from core.certificates import (
        CertificateError,
        covers,
        describe_names,
        is_self_signed,
        read_certificate,
    )

    try:
        cert = read_certificate(path)
    except CertificateError as exc:
        raise Refused(str(exc)) from None
    if not given and not is_self_signed(cert):
        return None
    host = urlsplit(settings.bots[bot].public_url).hostname or ""
    if not covers(cert, host):
        raise Refused(
            f"{path} is for {describe_names(cert)}, not {host} (TGWEBHOOK_PUBLIC_URL): "
            f"Telegram would fail every delivery with an SSL error; make one for it with "
            f"`python app.py tls self-signed --host {host}`"
        )
    return Path(path).read_bytes()
