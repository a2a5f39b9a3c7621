"""Alert latency: time from an injected incident to the first notification, per incident.

Runs the demo stack (simulator as Bot API, `python app.py serve`, demo bot, an alert webhook
receiver), injects each incident into a fresh stack and waits for the webhook notification.
Target: <= poll interval + 5 s.

    python bench/alert_latency.py --interval 5
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulator.demo.cli import Demo, free_port, wrong_secret  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def delete_webhook(demo: Demo) -> None:
    requests.post(demo.sim.api_url(demo.token, "deleteWebhook"), timeout=10)


def move_webhook(demo: Demo) -> None:
    url = f"http://127.0.0.1:{free_port()}/webhook/default"  # somewhere that is not us
    requests.post(demo.sim.api_url(demo.token, "setWebhook"), json={"url": url}, timeout=10)


INCIDENTS: dict[str, tuple[str, Callable[[Demo], None]]] = {
    "secret rotated at Telegram": ("delivery_errors", wrong_secret),
    "bot token revoked": ("poll_failing", lambda demo: demo.sim.admin.revoke(demo.token)),
    "webhook deleted": ("webhook_missing", delete_webhook),
    "webhook moved elsewhere": ("url_mismatch", move_webhook),
}


def measure(
    name: str, alert: str, act: Callable[[Demo], None], interval: float, timeout: float
) -> dict:
    args = argparse.Namespace(port=free_port(), rate=5.0, poll_interval=interval)
    with tempfile.TemporaryDirectory(prefix="tgwebhook-alerts-") as tmp:
        demo = Demo(args, Path(tmp))
        try:
            demo.start()
            time.sleep(2 * interval)  # a settled baseline: a couple of clean polls
            started = time.monotonic()
            act(demo)
            while time.monotonic() - started < timeout and not demo.inbox.fired(alert):
                time.sleep(0.05)
            latency = time.monotonic() - started if demo.inbox.fired(alert) else None
        finally:
            demo.stop()
    target = interval + 5
    ok = latency is not None and latency <= target
    return {
        "incident": name,
        "alert": alert,
        "latency_s": None if latency is None else round(latency, 2),
        "target_s": target,
        "met": ok,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=5.0, help="poll interval (s)")
    parser.add_argument("--timeout", type=float, default=60.0, help="give up after (s)")
    args = parser.parse_args()
    rows = [
        measure(name, alert, act, args.interval, args.timeout)
        for name, (alert, act) in INCIDENTS.items()
    ]
    lines = ["| incident | alert | latency s | target s | met |", "|---|---|---|---|---|"]
    lines += [
        f"| {r['incident']} | {r['alert']} | {r['latency_s']} | {r['target_s']} | {r['met']} |"
        for r in rows
    ]
    print("\n".join(lines))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "alert_latency.json").write_text(json.dumps(rows, indent=2) + "\n")
    (RESULTS / "alert_latency.md").write_text("\n".join(lines) + "\n")
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
