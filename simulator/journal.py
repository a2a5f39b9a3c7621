"""What happened to updates: the delivery-attempt log and the archive of delivered updates."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

from simulator.webhook_client import AttemptResult

ARCHIVE_SIZE = 20_000
LOG_SIZE = 20_000


@dataclass
class Pending:
    """An update waiting for (or in) delivery."""

    update: dict[str, Any]
    kind: str
    key: str
    expires_at: float  # monotonic deadline, already scaled by time_factor
    fail_count: int = 0
    delay: int = 1  # Telegram's backoff base, in Telegram seconds
    attempt: int = 0

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


class Journal:
    """Bounded: the oldest entries go first, so a long demo run cannot exhaust memory."""

    def __init__(self) -> None:
        self.attempts: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self.archive: OrderedDict[int, Pending] = OrderedDict()

    def remember(self, item: Pending) -> None:
        """Keep a delivered update so it can be re-delivered as a duplicate later."""
        self.archive[item.update_id] = item
        self.archive.move_to_end(item.update_id)
        while len(self.archive) > ARCHIVE_SIZE:
            self.archive.popitem(last=False)

    def record(
        self,
        item: Pending,
        outcome: str,
        result: AttemptResult | None,
        retry_in: float | None = None,
    ) -> None:
        """outcome: "delivered", "failed" (will retry) or "expired" (dropped)."""
        error = result.error if result else None
        self.attempts.append(
            {
                "time": time.time(),
                "update_id": item.update_id,
                "type": item.kind,
                "queue": item.key,
                "chat_id": chat_of(item.update.get(item.kind)),
                "attempt": item.attempt,
                "outcome": outcome,
                "status": result.status if result else None,
                "error": error or ("expired" if outcome == "expired" else None),
                "duration": round(result.duration, 6) if result else 0.0,
                "retry_in": retry_in,
            }
        )


def chat_of(body: Any) -> int | None:
    """The chat an update concerns (its sender for chat-less types), for logs."""
    if not isinstance(body, dict):
        return None
    for holder in (body, body.get("message") or {}):
        chat = holder.get("chat") if isinstance(holder, dict) else None
        if isinstance(chat, dict) and "id" in chat:
            return int(chat["id"])
    sender = body.get("from") or body.get("user") or {}
    return int(sender["id"]) if isinstance(sender, dict) and "id" in sender else None
