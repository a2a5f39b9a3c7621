"""Telegram channel: sendMessage to the alert chat.

Prefer a separate alert bot (TGWEBHOOK_ALERT_TELEGRAM_TOKEN): alerting through the monitored
bot fails exactly when that bot is in trouble (token revoked, 429 flood limits from its own
traffic), and a backend sharing its token may answer on its behalf.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from core.storage import AlertTransition
from core.telegram import TelegramClient, TelegramError
from monitor.notifiers.base import NotifyError, render_text

MAX_TEXT = 4096
# Bot API limits: about one message per second in a private chat, 20 a minute in a group.
PRIVATE_INTERVAL_SECONDS = 1.0
GROUP_INTERVAL_SECONDS = 3.0


def send_interval(chat_id: str) -> float:
    """Group and channel ids are negative; those chats allow 20 messages a minute."""
    return (
        GROUP_INTERVAL_SECONDS if str(chat_id).strip().startswith("-") else PRIVATE_INTERVAL_SECONDS
    )


class ChatPacer:
    """Keeps sends to one chat at least `interval` apart, across the sender threads."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            delay = self._next - self.clock()
            if delay > 0:
                time.sleep(delay)
            self._next = max(self.clock(), self._next) + self.interval


class TelegramNotifier:
    channel = "telegram"

    def __init__(
        self, chat_id: str, clients: Mapping[str, TelegramClient], min_interval: float | None = None
    ) -> None:
        self.chat_id = chat_id
        self.clients = clients  # per monitored bot: the alert bot's client or the bot's own
        self.pacer = ChatPacer(send_interval(chat_id) if min_interval is None else min_interval)

    def send(self, transition: AlertTransition) -> None:
        client = self.clients.get(transition.bot)
        if client is None:
            raise NotifyError("no bot token to send Telegram alerts with", permanent=True)
        self.pacer.wait()
        try:
            client.send_message(self.chat_id, render_text(transition)[:MAX_TEXT])
        except TelegramError as exc:  # its text is already redacted by the client
            raise NotifyError(str(exc), exc.permanent, exc.retry_after) from None
