"""The ops endpoints over the real app: /health (application/health+json), /livez, /readyz.

The health document's rules are tested as data in tests/core/test_health*.py; these tests
drive the endpoints with a real store behind them.
"""

from __future__ import annotations

import time

from core.metrics import FORWARD_LAG
from core.storage import IncomingUpdate


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


def test_health_endpoint_reports_forward_lag_per_bot_since_it_started(client):
    FORWARD_LAG.labels("default").observe(0.004)
    FORWARD_LAG.labels("default").observe(0.004)
    entries = client.get("/health").json["checks"]["forwarder:lagP99"]
    assert [e["componentId"] for e in entries] == ["default"]
    assert entries[0]["status"] == "pass" and 0 < entries[0]["observedValue"] <= 0.005
    assert "2 delivered" in entries[0]["output"]  # not what earlier apps in this process saw


def record(store, count: int, received_at: float) -> None:
    for update_id in range(1, count + 1):
        body = b'{"update_id": %d}' % update_id
        update = IncomingUpdate(
            "default", update_id, "message", str(update_id), body, received_at, True
        )
        store.record_update(update, False)


def test_health_endpoint_fails_for_a_consumer_gone_with_a_backlog_and_recovers_on_a_poll(
    client, store
):
    record(store, 200, time.time() - 3600)
    store.take_poll("default", time.time() - 3600)
    response = client.get("/health")
    assert response.status_code == 503
    entry = response.json["checks"]["getUpdates:lastPollAge"][0]
    assert entry["status"] == "fail" and entry["observedValue"] >= 3600
    assert response.json["checks"]["queue:depth"][0]["observedValue"] == 200
    store.take_poll("default", time.time())
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json["checks"]["getUpdates:lastPollAge"][0]["status"] == "warn"


def test_health_endpoint_passes_a_polling_bot_nobody_polls_with_nothing_waiting(client):
    entry = client.get("/health").json["checks"]["getUpdates:lastPollAge"][0]
    assert entry == {
        "status": "pass",
        "componentId": "default",
        "output": "0 pending, never polled",
    }
