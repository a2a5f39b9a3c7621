"""The live scenario: simulator -> `python app.py serve` -> Prometheus, with real traffic.

One appliance (bot `default`) is polled against the simulator, forwards to a bot backend that
fails for one chat, notifies alerts to a local webhook, and has an https PUBLIC_URL served by a
local TLS server whose certificate expires in 5 days (and which is not where Telegram delivers,
so the webhook URL mismatches). Traffic: accepted updates, re-deliveries (duplicates), a wrong
secret and bad JSON (rejections), then Telegram failing to deliver (a rotated secret).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import ssl
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

import requests
import trustme

from core.telegram import SECRET_HEADER
from simulator.harness import Simulator, start_simulator
from tests.helpers.grafana_kit import (
    PROMETHEUS_DIR,
    RATE_INTERVAL,
    Prometheus,
    Sink,
    start_prometheus,
    start_sink,
)
from tests.helpers.support import (
    BOT_TOKEN,
    ROOT,
    SECRET,
    Served,
    free_port,
    is_ready,
    ops_url,
    wait_until,
)

FAILING_CHAT = 666  # the bot backend answers 500 for this chat: retries, then dead letters
CHATS = (101, 102, 103, 104)
WRONG_SECRET = "rotated-elsewhere"
CERT_DAYS_LEFT = 5


@dataclass
class Live:
    prometheus: Prometheus
    served: Served
    values: dict[str, str]  # Grafana template variables -> values used in the queries


def backend_status(body: bytes) -> int:
    try:
        chat = json.loads(body).get("message", {}).get("chat", {}).get("id")
    except ValueError:
        return 400
    return 500 if chat == FAILING_CHAT else 200


def tls_context(tmp: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context for 127.0.0.1 expiring soon, and the CA file that trusts it."""
    ca = trustme.CA()
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=CERT_DAYS_LEFT)
    cert = ca.issue_cert("127.0.0.1", not_after=expires)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    ca_file = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return context, ca_file


def start_appliance(
    tmp: Path,
    env: dict[str, str],
    port: int | None = None,
    name: str = "live",
    ops_token: str | None = None,
) -> Served:
    """`python app.py serve` as tests/conftest.py's `serve` fixture starts it; ready when its
    ops listener (TGWEBHOOK_OPS_LISTEN in env, else the public one) answers /readyz."""
    port = port or free_port()
    full = {
        **os.environ,
        "TGWEBHOOK_DB": str(tmp / f"{name}.db"),
        "TGWEBHOOK_SECRET_TOKEN": SECRET,
        "TGWEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "TGWEBHOOK_WORKERS": "2",
        **env,
    }
    full.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp / f"{name}.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "app.py", "serve"],
            cwd=ROOT,
            env=full,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(process, f"http://127.0.0.1:{port}", tmp / f"{name}.db", log, full)
    probe = replace(served, base_url=ops_url(served))
    try:
        wait_until(lambda: is_ready(probe, ops_token), timeout=40, interval=0.1)
    except BaseException:
        served.stop()
        raise
    return served


def set_webhook(sim: Simulator, token: str, url: str, secret: str) -> None:
    for _ in range(3):  # Telegram limits setWebhook to about one call a second (429)
        answer = requests.post(
            sim.api_url(token, "setWebhook"), json={"url": url, "secret_token": secret}, timeout=10
        ).json()
        if answer.get("error_code") != 429:
            break
        time.sleep(answer["parameters"]["retry_after"])
    assert answer["ok"], answer


def post(served: Served, body: bytes, secret: str) -> int:
    headers = {"Content-Type": "application/json", SECRET_HEADER: secret}
    return requests.post(
        served.base_url + "/webhook/default", data=body, headers=headers, timeout=10
    ).status_code


def drive_traffic(sim: Simulator, served: Served) -> None:
    token, webhook = BOT_TOKEN, served.base_url + "/webhook/default"
    set_webhook(sim, token, webhook, SECRET)
    sent = [
        sim.admin.inject(token, text=f"hello {i}", chat_id=CHATS[i % len(CHATS)])[0]
        for i in range(12)
    ]
    sent += [sim.admin.inject(token, text=f"doomed {i}", chat_id=FAILING_CHAT)[0] for i in range(3)]
    sim.admin.wait_delivered(token, len(sent), timeout=20)
    for update in sent[:3]:  # Telegram re-delivering what we already acknowledged
        sim.admin.redeliver(token, update["update_id"])
    refused = [post(served, b'{"update_id": 1}', "wrong-secret") for _ in range(45)]
    refused += [post(served, b"{not json", SECRET) for _ in range(20)]
    assert set(refused) == {400, 401}, refused
    # The secret rotated elsewhere: Telegram now fails to deliver and keeps updates pending.
    set_webhook(sim, token, webhook, WRONG_SECRET)
    for i in range(3):
        sim.admin.inject(token, text=f"undeliverable {i}", chat_id=CHATS[0])


def appliance_env(sim: Simulator, backend: Sink, alerts: Sink, public: Sink, ca_file: Path) -> dict:
    return {
        "TGWEBHOOK_BOT_TOKEN": BOT_TOKEN,
        "TGWEBHOOK_API_BASE": sim.base_url,
        "TGWEBHOOK_FORWARD_URL": backend.url + "/webhook",
        "TGWEBHOOK_PUBLIC_URL": public.url,
        "TGWEBHOOK_POLL_INTERVAL_SECONDS": "1",
        "TGWEBHOOK_ALERT_WEBHOOK_URL": alerts.url + "/alerts",
        "TGWEBHOOK_FORWARD_MAX_ATTEMPTS": "2",
        "TGWEBHOOK_FORWARD_BACKOFF_CAP_SECONDS": "0.1",
        "TGWEBHOOK_FORWARD_TIMEOUT_SECONDS": "2",
        "TGWEBHOOK_HTTP_TIMEOUT_SECONDS": "2",
        "SSL_CERT_FILE": str(ca_file),  # the monitor's certificate check trusts the local CA
    }


def build(stack: ExitStack, tmp: Path) -> Live:
    """Start everything (each stopped by `stack`), drive traffic, return the running stack."""
    sim = stack.enter_context(start_simulator(local=True))
    backend = start_sink(backend_status)
    stack.callback(backend.stop)
    alerts = start_sink(lambda body: 200)
    stack.callback(alerts.stop)
    context, ca_file = tls_context(tmp)
    public = start_sink(lambda body: 200, context)
    stack.callback(public.stop)
    served = start_appliance(tmp, appliance_env(sim, backend, alerts, public, ca_file))
    stack.callback(served.stop)
    target = served.base_url.removeprefix("http://")
    rules = PROMETHEUS_DIR / "alerts.yml"
    prometheus = start_prometheus(tmp / "prometheus", free_port(), target, rules)
    stack.callback(prometheus.stop)
    prometheus.wait_for('up{job="tgwebhook"} == 1')
    drive_traffic(sim, served)
    values = {
        "job": "tgwebhook",
        "instance": target,
        "bot": "default",
        "__rate_interval": RATE_INTERVAL,
        "datasource": "prometheus",
    }
    return Live(prometheus, served, values)
