"""Deliver queued notifications: claim (lease), send, then mark sent, retry or failed.

The lease is a conditional UPDATE, so two senders never claim one row; a sender that dies
mid-send leaves its lease to expire and the row is sent again: a duplicate at worst, never
a lost alert.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from core import metrics
from core.storage import AlertStore, Notification
from monitor.notifiers.base import Notifier, NotifyError, RetryPolicy

log = logging.getLogger(__name__)
# Longer than any single send (HTTP timeout, SMTP dialogue, Telegram pacing) may take.
LEASE_SECONDS = 120.0


def deliver_due(
    store: AlertStore,
    notifiers: Mapping[str, Notifier],
    policy: RetryPolicy,
    now: float,
    lease_seconds: float = LEASE_SECONDS,
) -> int:
    """Send every notification due at `now`; returns how many were sent."""
    if not store.has_due_notifications(now):
        return 0
    sent = 0
    for notification in store.claim_notifications(now, lease_seconds):
        sent += deliver_one(store, notifiers, policy, notification, now)
    return sent


def deliver_one(
    store: AlertStore,
    notifiers: Mapping[str, Notifier],
    policy: RetryPolicy,
    notification: Notification,
    now: float,
) -> bool:
    channel = notification.channel
    notifier = notifiers.get(channel)
    try:
        if notifier is None:
            raise NotifyError(f"channel {channel} is no longer configured", permanent=True)
        notifier.send(notification.transition)
    except NotifyError as exc:
        return record_failure(store, policy, notification, exc, now)
    except Exception as exc:  # a bug in one channel must not stall the others: retry later
        log.exception("%s notifier crashed", channel)
        return record_failure(store, policy, notification, NotifyError(type(exc).__name__), now)
    store.finish_notification(notification, sent=True, now=now)
    metrics.NOTIFICATIONS.labels(channel, "sent").inc()
    return True


def record_failure(
    store: AlertStore, policy: RetryPolicy, notification: Notification, exc: NotifyError, now: float
) -> bool:
    t = notification.transition
    delay = policy.delay(notification.attempts, exc)
    if delay is None:
        store.finish_notification(notification, sent=False, now=now, error=str(exc))
        metrics.NOTIFICATIONS.labels(notification.channel, "failed").inc()
        log.error(
            "giving up %s notification of %s/%s after %d attempts: %s",
            notification.channel,
            t.bot,
            t.alert,
            notification.attempts,
            exc,
        )
        return False
    store.retry_notification(notification, now + delay, str(exc))
    metrics.NOTIFICATIONS.labels(notification.channel, "retry").inc()
    log.warning(
        "%s notification of %s/%s failed (%s); retry in %.0f s",
        notification.channel,
        t.bot,
        t.alert,
        exc,
        delay,
    )
    return False
