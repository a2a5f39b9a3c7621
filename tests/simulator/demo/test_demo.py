"""`python app.py demo` as a newcomer runs it: health passes, traffic flows, incidents alert."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
import requests

from tests.helpers.support import ROOT, free_port, wait_until


def start_demo(port: int, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "app.py", "demo", "--port", str(port), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(part in line for part in wanted.split(",")):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_demo_is_healthy_within_30_s_and_counts_grow():
    port = free_port()
    demo = start_demo(port, "--duration", "60")
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(demo.stdout), daemon=True)
    reader.start()
    try:
        base = f"http://127.0.0.1:{port}"
        # "warn" (200) comes first, until the monitor's first poll: "pass" is promised within 30 s.
        health = wait_until(lambda: passing(base + "/health"), timeout=30, interval=0.5)
        assert health["status"] == "pass"
        first = requests.get(base + "/metrics", timeout=5).text
        later = wait_until(lambda: grown(base, first), timeout=20, interval=1)
        assert metric(later, "tgwebhook_duplicates_total") > metric(
            first, "tgwebhook_duplicates_total"
        )
    finally:
        demo.terminate()
        demo.wait(timeout=60)
        reader.join(timeout=5)
    assert demo.returncode == 0
    assert any("/health" in line for line in output)


def passing(url: str) -> dict | None:
    try:
        response = requests.get(url, timeout=2)
    except requests.RequestException:
        return None
    body = response.json() if response.status_code == 200 else None
    return body if body and body["status"] == "pass" else None


def grown(base: str, first: str) -> str | None:
    text = requests.get(base + "/metrics", timeout=5).text
    accepted = metric(text, "tgwebhook_requests_total", outcome="accepted")
    dups = metric(text, "tgwebhook_duplicates_total")
    if accepted > metric(
        first, "tgwebhook_requests_total", outcome="accepted"
    ) + 5 and dups > metric(first, "tgwebhook_duplicates_total"):
        return text
    return None


@pytest.mark.parametrize(
    ("scenario", "alert"),
    [
        ("bot-down", "queue_backlog"),
        ("slow-bot", "queue_backlog"),
        ("revoked-token", "poll_failing"),
        ("backlog", "backlog"),  # Telegram's side: pending piles up while it cannot deliver
    ],
)
def test_demo_scenario_makes_an_alert_fire_then_resolve(scenario, alert):
    demo = start_demo(
        free_port(), "--scenario", scenario, "--duration", "100", "--incident-after", "5"
    )
    out, _ = demo.communicate(timeout=180)
    assert demo.returncode == 0, out[-3000:]
    assert f"ALERT FIRING default/{alert}" in out
    assert f"ALERT RESOLVED default/{alert}" in out
    assert f"alert {alert} fired and resolved" in out
