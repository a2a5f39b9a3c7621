"""The health document: only an unwritable store fails; the rest warns."""

from __future__ import annotations

import pytest

from core.health import Limits, assemble, queue_checks, telegram_checks
from core.storage import Observation, QueueStats

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


def test_health_endpoint_is_health_json_and_names_components(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.mimetype == "application/health+json"
    body = response.json
    assert body["status"] == "pass"
    assert {"store:writable", "queue:depth", "queue:oldestAge", "deadLetters:count"} <= set(
        body["checks"]
    )


def test_livez_and_readyz(client):
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").json == {"status": "pass"}
