"""Generic webhook channel: JSON with a Slack-compatible `text` plus structured fields."""

from __future__ import annotations

import requests

from core.storage import AlertTransition
from monitor.notifiers.base import iso, render_text
from monitor.notifiers.http import post_json


def payload(transition: AlertTransition) -> dict:
    return {
        "text": render_text(transition),  # what Slack, Mattermost and Rocket.Chat display
        "status": "resolved" if transition.kind == "resolve" else "firing",
        "kind": transition.kind,
        "bot": transition.bot,
        "alert": transition.alert,
        "severity": transition.severity,
        "summary": transition.summary,
        "details": dict(transition.details),
        "started_at": iso(transition.started_at) if transition.started_at else None,
        "at": iso(transition.at),
    }


class WebhookNotifier:
    channel = "webhook"

    def __init__(self, url: str, timeout: float, session: requests.Session | None = None):
        self.url = url
        self.timeout = timeout
        self.session = session or requests.Session()

    def send(self, transition: AlertTransition) -> None:
        post_json(self.session, self.url, payload(transition), self.timeout)
