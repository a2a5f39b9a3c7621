"""Is the bot's backend down for everyone, or refusing one update? Judged per forwarder process
from what it has seen: failures in two or more chats since the last success mean an outage.

Attempts made during an outage do not count toward an update's attempt budget (its age still
does: 24 h by default, Telegram's own limit). Otherwise a bot down for an hour would turn the
head of every chat into a dead letter, and replaying them later would break each chat's order.
One chat failing while the others get through is that update's own problem, and counts.
"""

from __future__ import annotations

import threading


class OutageWatch:
    """Shared by the worker threads of one forwarder; forgets everything at a restart."""

    def __init__(self) -> None:
        self._failing: dict[str, set[str]] = {}  # bot -> chats failed since its last success
        self._lock = threading.Lock()

    def record_success(self, bot: str) -> None:
        with self._lock:
            self._failing.pop(bot, None)

    def record_failure(self, bot: str, chat: str) -> bool:
        """Note a failed delivery; True when the bot now looks down in every chat."""
        with self._lock:
            chats = self._failing.setdefault(bot, set())
            chats.add(chat)
            return len(chats) >= 2
