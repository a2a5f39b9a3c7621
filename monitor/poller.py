"""Poll getWebhookInfo for one bot and store what Telegram said (or that it failed)."""

from __future__ import annotations

import logging
from typing import Any

from core import metrics
from core.storage import Observation, ObservationStore
from core.telegram import TelegramClient, TelegramError

log = logging.getLogger(__name__)


def observation_from_info(bot: str, now: float, info: dict[str, Any]) -> Observation:
    allowed = info.get("allowed_updates")
    return Observation(
        bot=bot,
        observed_at=now,
        ok=True,
        pending_update_count=int(info.get("pending_update_count") or 0),
        last_error_date=info.get("last_error_date"),
        last_error_message=str(info.get("last_error_message") or ""),
        last_synchronization_error_date=info.get("last_synchronization_error_date"),
        url=str(info.get("url") or ""),
        max_connections=info.get("max_connections"),
        allowed_updates=tuple(allowed) if allowed is not None else None,
        ip_address=str(info.get("ip_address") or ""),
    )


def poll(client: TelegramClient, store: ObservationStore, bot: str, now: float) -> Observation:
    """One getWebhookInfo call, stored either way; a failure is counted, not raised."""
    try:
        observation = observation_from_info(bot, now, client.get_webhook_info())
    except TelegramError as exc:
        metrics.POLL_ERRORS.labels(bot).inc()
        log.warning("getWebhookInfo for %s failed: %s", bot, exc)
        observation = Observation(
            bot=bot, observed_at=now, ok=False, error_code=exc.error_code, error=exc.description
        )
    store.save_observation(observation)
    return observation
