"""The whole loop: Telegram (simulator) delivers to a real `serve`; the appliance's secret no
longer matches what Telegram sends, updates pile up with fresh errors, the monitor fires an
alert to a webhook receiver; `set-webhook` fixes it and the alert resolves."""

from __future__ import annotations

import json
import subprocess
import sys

import requests

from core.config import Secret
from core.telegram import TelegramClient
from tests.helpers.support import ROOT, SECRET, free_port, wait_until


def ready(url: str) -> bool:
    try:
        return requests.get(url + "/readyz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def alert_bodies(alert_webhook, status: str) -> list[dict]:
    return [
        b
        for b in alert_webhook.bodies()
        if b["alert"] == "delivery_errors" and b["status"] == status
    ]


def test_delivery_failures_fire_an_alert_and_the_fix_resolves_it(serve, sim, token, alert_webhook):
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    served = serve(
        env={
            "TGWEBHOOK_LISTEN": f"127.0.0.1:{port}",
            "bot_token": token,
            "api_base": sim.base_url,
            "public_url": public,
            "poll_interval_seconds": 1,
            "alert_webhook_url": alert_webhook.url,
        },
        wait_ready=False,
    )
    wait_until(lambda: ready(public), timeout=30, interval=0.1)
    # The fault: Telegram holds an old secret (say, rotated here without re-running set-webhook).
    telegram = TelegramClient(Secret(token), sim.base_url)
    telegram.set_webhook(public + "/webhook/default", secret_token=Secret("old-secret"))
    sim.admin.inject(token, *[{"text": f"update {n}", "chat_id": n} for n in range(5)])

    [fired] = wait_until(lambda: alert_bodies(alert_webhook, "firing"), timeout=30)
    assert fired["severity"] == "critical" and fired["details"]["error_class"] == "auth"
    assert fired["details"]["pending_update_count"] >= 1
    assert "401" in fired["details"]["last_error_message"]

    fix = subprocess.run(
        [sys.executable, "app.py", "set-webhook"],
        cwd=ROOT,
        env=served.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert fix.returncode == 0, fix.stdout + fix.stderr
    sim.admin.wait_idle(token, timeout=30)
    [resolved] = wait_until(lambda: alert_bodies(alert_webhook, "resolved"), timeout=30)
    assert resolved["started_at"] == fired["started_at"]
    assert len(alert_bodies(alert_webhook, "firing")) == 1  # no flapping in between

    def history() -> tuple[str, list[dict]]:
        shown = subprocess.run(
            [sys.executable, "app.py", "alerts", "--json"],
            cwd=ROOT,
            env=served.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        rows = json.loads(shown.stdout)["history"]
        return shown.stdout, [r for r in rows if r["alert"] == "delivery_errors"]

    # The receiver has the resolve before the monitor stores that it was sent.
    text, rows = wait_until(
        lambda: (
            (h := history())
            and all(n["state"] == "sent" for r in h[1] for n in r["notifications"])
            and h
        ),
        timeout=30,
        what="every notification marked sent",
    )
    assert [r["kind"] for r in rows] == ["resolve", "fire"]
    assert {n["state"] for r in rows for n in r["notifications"]} == {"sent"}
    assert SECRET not in text
