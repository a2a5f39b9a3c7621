"""What every alert channel shares: the Notifier protocol, its error, retry policy, text.

Notifiers send once and raise NotifyError; they never retry themselves. The outbox job asks
`RetryPolicy` when (and whether) to try again, so every channel backs off the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from core.storage import AlertTransition

HEADLINES = {"fire": "FIRING", "repeat": "STILL FIRING", "resolve": "RESOLVED"}


class NotifyError(Exception):
    """A failed send. `permanent`: retrying cannot help (bad address, rejected credentials)."""

    def __init__(self, message: str, permanent: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Notifier(Protocol):
    channel: str

    def send(self, transition: AlertTransition) -> None:
        """Deliver one notification or raise NotifyError."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff; a server's retry_after wins when longer."""

    max_attempts: int = 8
    base_seconds: float = 10.0
    cap_seconds: float = 900.0

    def delay(self, attempts: int, error: NotifyError) -> float | None:
        """Seconds until the next try after `attempts` failed ones; None means give up."""
        if error.permanent or attempts >= self.max_attempts:
            return None
        backoff = min(self.cap_seconds, self.base_seconds * 2 ** (attempts - 1))
        return max(backoff, error.retry_after or 0.0)


def headline(transition: AlertTransition) -> str:
    state = HEADLINES.get(transition.kind, transition.kind.upper())
    severity = "" if transition.kind == "resolve" else f" [{transition.severity}]"
    return f"{state}{severity} {transition.bot}/{transition.alert}: {transition.summary}"


def render_text(transition: AlertTransition) -> str:
    """Plain text for chat and mail: headline, then one line per detail."""
    lines = [headline(transition)]
    for key, value in transition.details.items():
        lines.append(f"{key}: {value}")
    if transition.started_at is not None:
        lines.append(f"since: {iso(transition.started_at)}")
    lines.append(f"at: {iso(transition.at)}")
    return "\n".join(lines)


def iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat().replace("+00:00", "Z")
