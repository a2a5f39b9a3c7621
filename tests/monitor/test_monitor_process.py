"""One scheduler, in its own process: never in web workers, exactly one poller under `serve`,
and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from core.storage import open_store
from tests.helpers.support import ROOT, SECRET, wait_until


def test_creating_the_web_app_never_imports_apscheduler(tmp_path):
    code = (
        "import sys; from app import create_app; from core.config import load_settings;"
        "create_app(load_settings()); print('apscheduler' in sys.modules)"
    )
    env = {**os.environ, "TGWEBHOOK_DB": str(tmp_path / "t.db"), "TGWEBHOOK_SECRET_TOKEN": SECRET}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "False", result.stderr


def metric(base_url: str, name: str, **labels: str) -> float | None:
    text = requests.get(base_url + "/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def test_serve_with_four_workers_polls_telegram_from_exactly_one_process(serve, sim, token):
    served = serve(
        env={"bot_token": token, "api_base": sim.base_url, "poll_interval_seconds": 1}, workers=4
    )

    def polls() -> list[float]:
        return [c["time"] for c in sim.admin.calls(token, method="getWebhookInfo")]

    wait_until(lambda: len(polls()) >= 6, timeout=20)
    times = polls()
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    # Two pollers would interleave: gaps averaging 0.5 s. One late poll (a busy machine)
    # shortens the next gap, hence the loose minimum.
    assert min(gaps) > 0.3, gaps
    assert 0.8 < (times[-1] - times[0]) / (len(times) - 1) < 1.3, gaps
    # The monitor's counters and the alert state reach the web's /metrics.
    sim.admin.revoke(token)
    wait_until(
        lambda: metric(served.base_url, "tgwebhook_alert_firing", alert="poll_failing"), timeout=15
    )
    assert metric(served.base_url, "tgwebhook_telegram_poll_errors_total", bot="default") >= 1


def test_sigterm_lets_the_running_poll_finish_then_exits(tmp_path, sim, token):
    sim.admin.add_fault("getWebhookInfo", token=token, delay=2)
    db = tmp_path / "monitor.db"
    env = {
        **os.environ,
        "TGWEBHOOK_DB": str(db),
        "TGWEBHOOK_SECRET_TOKEN": SECRET,
        "TGWEBHOOK_BOT_TOKEN": token,
        "TGWEBHOOK_API_BASE": sim.base_url,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: sim.admin.calls(token, method="getWebhookInfo"), timeout=20)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert time.monotonic() - started > 1.0  # it waited for the slow poll
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    store = open_store(str(db))
    observation = store.latest_observation("default")
    store.close()
    assert observation is not None and observation.ok
