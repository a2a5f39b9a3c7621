"""What the demo shows: alert notifications as they arrive, and a live one-line summary."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

ACCEPTED = ("accepted", "unknown_type", "schema_deviation")


class AlertInbox:
    """Receives the appliance's generic-webhook alert notifications (ALERT_WEBHOOK_URL)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.events: list[dict[str, Any]] = []
        self._new: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alerts"

    def start(self) -> None:
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    event = json.loads(body)
                except ValueError:
                    event = {}
                with inbox._lock:
                    inbox.events.append(event)
                    inbox._new.append(event)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def drain(self) -> list[dict[str, Any]]:
        with self._lock:
            new, self._new = self._new, []
        return new

    def fired(self, alert: str) -> bool:
        return any(e.get("alert") == alert and e.get("status") == "firing" for e in self.events)

    def resolved(self, alert: str) -> bool:
        return self.fired(alert) and any(
            e.get("alert") == alert and e.get("status") == "resolved" for e in self.events
        )


def read_metrics(base_url: str) -> dict[str, float]:
    """The handful of figures the summary line shows, summed over bots."""
    try:
        text = requests.get(base_url + "/metrics", timeout=2).text
    except requests.RequestException:
        return {}
    figures = dict.fromkeys(
        ("accepted", "duplicates", "queue", "pending", "alerts", "forwarded"), 0.0
    )
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == "tgwebhook_requests_total" and labels.get("outcome") in ACCEPTED:
                figures["accepted"] += value
            elif name == "tgwebhook_duplicates_total":
                figures["duplicates"] += value
            elif name == "tgwebhook_queue_depth":
                figures["queue"] += value
            elif name == "tgwebhook_telegram_pending_updates":
                figures["pending"] += value
            elif name == "tgwebhook_alert_firing":
                figures["alerts"] += value
            elif name == "tgwebhook_forward_attempts_total" and labels.get("result") == "delivered":
                figures["forwarded"] += value
    return figures


class Summary:
    """A live line: rewritten in place on a terminal, one line every 5 s otherwise."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.last: dict[str, float] = {}
        self.last_at = 0.0

    def show(self, elapsed: float, figures: dict[str, float], events: list[dict[str, Any]]) -> None:
        for event in events:
            print(
                f"\n[{elapsed:5.1f}s] ALERT {event.get('status', '?').upper()} {event.get('bot')}/"
                f"{event.get('alert')}: {event.get('summary', '')}",
                flush=True,
            )
        if not figures:
            return
        rate = (figures["accepted"] - self.last.get("accepted", 0)) / max(
            elapsed - self.last_at, 1e-9
        )
        line = (
            f"[{elapsed:5.1f}s] {rate:5.1f} updates/s  accepted {figures['accepted']:.0f}  "
            f"duplicates {figures['duplicates']:.0f}  forwarded {figures['forwarded']:.0f}  "
            f"queue {figures['queue']:.0f}  telegram pending {figures['pending']:.0f}  "
            f"alerts firing {figures['alerts']:.0f}"
        )
        if self.tty:
            print("\r" + line, end="", flush=True)
        elif int(elapsed) % 5 == 0:
            print(line, flush=True)
        self.last, self.last_at = figures, elapsed
