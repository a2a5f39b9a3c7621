"""Alertmanager channel: POST /api/v2/alerts, the way Prometheus itself does it.

Alertmanager resolves an alert on its own once `endsAt` passes, so a firing alert carries an
`endsAt` a few minutes ahead and the monitor re-sends every firing alert each minute
(`refresh`), as Prometheus re-sends its alerts. A resolve sends `endsAt` = the resolve time.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import requests

from core.storage import AlertState, AlertTransition
from monitor.notifiers.base import headline, iso
from monitor.notifiers.http import post_json

REFRESH_SECONDS = 60.0
# Like Prometheus (4 x its resend delay): survives three lost refreshes, then expires.
VALIDITY_SECONDS = 4 * REFRESH_SECONDS


def labels(bot: str, alert: str, severity: str) -> dict[str, str]:
    return {"alertname": alert, "bot": bot, "severity": severity, "service": "tgwebhook"}


def from_transition(transition: AlertTransition, now: float) -> dict:
    resolved = transition.kind == "resolve"
    annotations = {"summary": transition.summary, "description": headline(transition)}
    annotations |= {key: str(value) for key, value in transition.details.items()}
    return {
        "labels": labels(transition.bot, transition.alert, transition.severity),
        "annotations": annotations,
        "startsAt": iso(transition.started_at or transition.at),
        "endsAt": iso(transition.at if resolved else now + VALIDITY_SECONDS),
    }


def from_state(state: AlertState, now: float) -> dict:
    return {
        "labels": labels(state.bot, state.alert, state.severity),
        "annotations": {"summary": state.summary},
        "startsAt": iso(state.changed_at or now),
        "endsAt": iso(now + VALIDITY_SECONDS),
    }


class AlertmanagerNotifier:
    channel = "alertmanager"

    def __init__(self, base_url: str, timeout: float, session: requests.Session | None = None):
        self.url = base_url.rstrip("/") + "/api/v2/alerts"
        self.timeout = timeout
        self.session = session or requests.Session()

    def send(self, transition: AlertTransition) -> None:
        post_json(self.session, self.url, [from_transition(transition, time.time())], self.timeout)

    def refresh(self, firing: Iterable[AlertState]) -> int:
        """Re-send every firing alert so Alertmanager keeps it open; returns how many."""
        now = time.time()
        alerts = [from_state(state, now) for state in firing]
        if alerts:
            post_json(self.session, self.url, alerts, self.timeout)
        return len(alerts)
