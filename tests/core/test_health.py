"""The health document as data: only what loses updates fails (an unwritable store here, a
gone polling consumer in test_health_polling.py); the rest warns. Endpoints: tests/ops/."""

from __future__ import annotations

import os
import subprocess
import sys
from math import inf as INF

import pytest

from core.health import (
    LagSample,
    LagWindow,
    Limits,
    assemble,
    lag_checks,
    quantile,
    queue_checks,
    telegram_checks,
)
from core.metrics import LAG_BUCKETS, forward_lag_buckets
from core.storage import Observation, QueueStats
from tests.helpers.support import ROOT

NOW = 1_800_000_000.0
LIMITS = Limits(queue_age_seconds=300, backlog=100, poll_interval_seconds=15)


def stats(**over) -> QueueStats:
    return QueueStats(
        **{
            "bot": "default",
            "depth": 0,
            "oldest_age_seconds": 0.0,
            "dead_letters": 0,
            "last_received_at": NOW,
            **over,
        }
    )


def observation(**over) -> Observation:
    return Observation(
        **{"bot": "default", "observed_at": NOW, "ok": True, "pending_update_count": 0, **over}
    )


@pytest.mark.parametrize(
    ("queue", "status"),
    [
        ({}, "pass"),
        ({"depth": 50, "oldest_age_seconds": 10}, "pass"),
        ({"oldest_age_seconds": 301}, "warn"),
        ({"dead_letters": 1}, "warn"),
    ],
)
def test_queue_problems_warn(queue, status):
    assert assemble(None, queue_checks([stats(**queue)], LIMITS), NOW)["status"] == status


def test_store_failure_fails():
    document = assemble("disk full", queue_checks([stats()], LIMITS), NOW)
    assert document["status"] == "fail"
    assert document["checks"]["store:writable"][0]["output"] == "disk full"


@pytest.mark.parametrize(
    ("obs", "last_ok", "check", "status"),
    [
        (observation(), NOW - 10, "poller:lastSuccessAge", "pass"),
        (observation(), NOW - 46, "poller:lastSuccessAge", "warn"),
        (None, None, "poller:lastSuccessAge", "warn"),
        (observation(pending_update_count=150), NOW, "telegram:pendingUpdates", "warn"),
        (
            observation(
                pending_update_count=3,
                last_error_date=int(NOW) - 5,
                last_error_message="Read timeout expired",
            ),
            NOW,
            "telegram:lastError",
            "warn",
        ),
        # Telegram never clears last_error_*: an old error with nothing pending is fine.
        (
            observation(
                pending_update_count=0,
                last_error_date=int(NOW) - 86400,
                last_error_message="Connection refused",
            ),
            NOW,
            "telegram:lastError",
            "pass",
        ),
    ],
)
def test_telegram_side_checks(obs, last_ok, check, status):
    checks = telegram_checks({"default": obs}, {"default": last_ok}, LIMITS, NOW)
    assert checks[check][0]["status"] == status
    assert assemble(None, checks, NOW)["status"] == status


def lag_buckets(*observations: float) -> tuple[tuple[float, float], ...]:
    """Cumulative buckets as FORWARD_LAG keeps them, after these observations."""
    return tuple((le, float(sum(o <= le for o in observations))) for le in (*LAG_BUCKETS, INF))


@pytest.mark.parametrize(
    ("observations", "p99"),
    [
        ((), None),
        ((0.003,) * 100, 0.004975),  # rank 99 of 100 in (0.0025, 0.005], interpolated
        ((0.003,) * 50 + (0.2,) * 50, 0.247),  # (0.1, 0.25]: 0.1 + 0.15 * 49 / 50
        ((100.0,) * 10, 60.0),  # beyond the last finite bucket: its bound
    ],
)
def test_lag_quantile_is_prometheus_histogram_quantile(observations, p99):
    assert quantile(0.99, lag_buckets(*observations)) == pytest.approx(p99)


def test_forward_lag_warns_above_five_seconds_per_bot():
    before = LagSample(NOW - 60, {"default": lag_buckets(), "slow": lag_buckets()})
    after = LagSample(NOW, {"default": lag_buckets(0.004, 0.02), "slow": lag_buckets(0.01, 12)})
    entries = {e["componentId"]: e for e in lag_checks((before, after), LIMITS)["forwarder:lagP99"]}
    assert entries["default"]["status"] == "pass" and entries["default"]["observedUnit"] == "s"
    assert entries["slow"]["status"] == "warn" and entries["slow"]["observedValue"] > 5
    assert assemble(None, {"forwarder:lagP99": list(entries.values())}, NOW)["status"] == "warn"


def test_forward_lag_forgets_an_incident_once_it_leaves_the_window():
    window = LagWindow({"default": lag_buckets()}, NOW - 120, seconds=60)
    # The incident: ten updates half a minute late, then 500 on time.
    window.observe({"default": lag_buckets(*(30.0,) * 10)}, NOW - 90)
    recent = window.observe({"default": lag_buckets(*(30.0,) * 10, *(0.003,) * 500)}, NOW)
    entry = lag_checks(recent, LIMITS)["forwarder:lagP99"][0]
    assert entry["status"] == "pass" and entry["observedValue"] <= 0.005
    assert "500 delivered" in entry["output"] and "last 90 s" in entry["output"]


def test_nothing_delivered_is_a_pass_that_says_so():
    sample = LagSample(NOW, {"default": lag_buckets()})
    entry = lag_checks((sample, sample), LIMITS)["forwarder:lagP99"][0]
    assert entry["status"] == "pass" and "nothing delivered" in entry["output"]


def test_forward_lag_is_read_from_the_process_that_observed_it(tmp_path, monkeypatch):
    # The forwarder observes, a web worker answers /health: two processes, one multiprocess dir.
    observe = "from core import metrics; metrics.FORWARD_LAG.labels('default').observe(7.0)"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", observe], cwd=ROOT, env=env, check=True, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert quantile(0.99, forward_lag_buckets()["default"]) == pytest.approx(
        9.95
    )  # one 7 s: (5, 10] at rank 0.99
