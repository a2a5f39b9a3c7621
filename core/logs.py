"""Logging set-up with a last line of defence: known secrets are masked in every record."""

from __future__ import annotations

import logging
import sys

from core.config import Settings
from core.telegram import redact

FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"
# Client libraries that log every request at INFO: a line per proxied Bot API call would grow
# the log by ~120 bytes a call. They speak at DEBUG only when the operator asks for DEBUG.
CHATTY = ("httpx", "httpcore")


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        for secret in self.secrets:
            clean = clean.replace(secret, "***")
        if clean != message:
            record.msg, record.args = clean, None
        return True


def known_secrets(settings: Settings) -> list[str]:
    values = [settings.alert_telegram_token.reveal(), settings.smtp_url.reveal()]
    values.append(settings.chat_key_hmac_key.reveal())
    for bot in settings.bots.values():
        values += [bot.token.reveal(), bot.secret_token.reveal(), bot.forward_secret_token.reveal()]
    return values


def configure_logging(settings: Settings) -> None:
    root = logging.getLogger()
    if not any(getattr(h, "_tgwebhook", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler._tgwebhook = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    for each in root.handlers:
        each.filters = [f for f in each.filters if not isinstance(f, RedactSecrets)]
        each.addFilter(RedactSecrets(known_secrets(settings)))
    root.setLevel(settings.log_level)
    for name in CHATTY:
        level = logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING
        logging.getLogger(name).setLevel(level)
