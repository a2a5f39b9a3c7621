"""End to end through real gunicorn workers started by `python app.py serve`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from core.telegram import SECRET_HEADER
from tests.helpers.support import BOT_TOKEN, SECRET, make_update, scrape, wait_until

HEADERS = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}


def send(base_url: str, update: dict) -> int:
    with requests.Session() as session:
        return session.post(
            f"{base_url}/webhook/default", data=json.dumps(update), headers=HEADERS, timeout=30
        ).status_code


def stored_rows(db) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM updates").fetchone()[0]


def test_concurrent_redeliveries_across_four_workers_store_each_update_once(serve):
    served = serve(workers=4)
    updates = [make_update(1000 + n, chat_id=n % 17) for n in range(200)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda u: send(served.base_url, u), updates + updates[::-1]))
    assert statuses == [200] * 400
    assert stored_rows(served.db) == 200
    metrics = scrape(served.base_url)
    assert (
        metrics[("tgwebhook_requests_total", (("bot", "default"), ("outcome", "accepted")))] == 200
    )
    assert (
        metrics[("tgwebhook_requests_total", (("bot", "default"), ("outcome", "duplicate")))] == 200
    )
    assert metrics[("tgwebhook_duplicates_total", (("bot", "default"),))] == 200
    assert metrics[("tgwebhook_request_duration_seconds_count", (("bot", "default"),))] == 400
    # No forward URL: a polling bot, all 200 wait for getUpdates.
    assert metrics[("tgwebhook_queue_depth", (("bot", "default"),))] == 200
    assert metrics[("tgwebhook_getupdates_pending", (("bot", "default"),))] == 200


def test_duplicate_from_before_a_restart_is_still_recognised(serve, tmp_path):
    db = tmp_path / "shared.db"
    first = serve(env={"DB": db})
    assert send(first.base_url, make_update(77)) == 200
    assert first.stop() == 0
    second = serve(env={"DB": db})
    assert send(second.base_url, make_update(77)) == 200
    metrics = scrape(second.base_url)
    assert metrics[("tgwebhook_duplicates_total", (("bot", "default"),))] == 1
    assert stored_rows(db) == 1


def test_promtool_accepts_a_real_scrape(serve):
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) must be installed; .ci/run installs it"
    served = serve()
    send(served.base_url, make_update(1))
    text = requests.get(served.base_url + "/metrics", timeout=10).text
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_secrets_never_appear_in_logs_metrics_or_health(serve):
    forward_secret = "forward-SECRET-value-42"
    served = serve(
        env={"BOT_TOKEN": BOT_TOKEN, "FORWARD_SECRET_TOKEN": forward_secret, "LOG_LEVEL": "DEBUG"}
    )
    wrong = dict(HEADERS, **{SECRET_HEADER: "guess-" + SECRET})
    requests.post(served.base_url + "/webhook/default", data=b"{}", headers=wrong, timeout=5)
    send(served.base_url, make_update(5))
    send(served.base_url, {"update_id": 6, "message": {"text": SECRET}})
    pages = [
        requests.get(served.base_url + path, timeout=10).text
        for path in ("/metrics", "/health", "/readyz", "/livez")
    ]
    assert served.stop() == 0
    everything = "\n".join(pages) + served.output()
    for secret in (SECRET, BOT_TOKEN, BOT_TOKEN.split(":")[1], forward_secret):
        assert secret not in everything


def test_serve_refuses_to_start_without_a_secret_and_names_the_variable(serve):
    served = serve(env={"SECRET_TOKEN": ""}, wait_ready=False)
    assert served.process.wait(timeout=30) == 2
    assert "TGWEBHOOK_SECRET_TOKEN" in served.output()


def test_serve_exits_non_zero_when_a_child_dies(serve):
    served = serve(workers=1)
    gunicorn = wait_until(lambda: child_pids(served.process.pid), timeout=10)[0]
    workers = wait_until(lambda: child_pids(gunicorn), timeout=10)
    os.kill(gunicorn, signal.SIGKILL)
    assert served.process.wait(timeout=30) == 1
    assert "exited unexpectedly" in served.output()
    # An orphaned web worker would keep serving on the inherited socket, unsupervised.
    wait_until(
        lambda: not any(os.path.exists(f"/proc/{pid}") for pid in workers), timeout=20, interval=0.2
    )


def child_pids(pid: int) -> list[int]:
    path = f"/proc/{pid}/task/{pid}/children"
    with open(path) as handle:
        return [int(p) for p in handle.read().split()]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_cleanly_on_signal(serve, sig):
    served = serve(workers=1)
    served.process.send_signal(sig)
    assert served.process.wait(timeout=30) == 0
