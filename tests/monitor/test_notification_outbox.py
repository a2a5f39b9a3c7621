"""The notification outbox: lease, send, retry with backoff, give up; resend after a crash,
sent to a real local HTTP receiver (two senders racing: tests/storage)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from core.storage import AlertState
from monitor import alerts, outbox
from monitor.notifiers.base import NotifyError, RetryPolicy
from monitor.notifiers.webhook import WebhookNotifier
from monitor.rules import WARNING, Finding

NOW = 1_700_000_000.0
POLICY = RetryPolicy(max_attempts=3, base_seconds=10, cap_seconds=60)


def sent_count(result: str, channel: str = "webhook") -> float:
    value = REGISTRY.get_sample_value(
        "tgwebhook_notifications_total", {"channel": channel, "result": result}
    )
    return value or 0.0


def queue_alert(store, alert: str = "backlog", at: float = NOW, channels=("webhook",)) -> int:
    finding = Finding("default", alert, WARNING, f"{alert} is bad", {"pending_update_count": 7})
    change = alerts.transition(AlertState("default", alert), finding, at, 0)
    return store.save_transition(change, 0, list(channels))


def states(store, transition_id: int) -> list[str]:
    return [row[1] for row in store.notification_states([transition_id])[transition_id]]


@pytest.fixture
def notifiers(alert_webhook):
    return {"webhook": WebhookNotifier(alert_webhook.url, timeout=5)}


def test_a_queued_alert_is_posted_once_with_slack_text_and_structured_fields(
    store, alert_webhook, notifiers
):
    before = sent_count("sent")
    tid = queue_alert(store)
    assert outbox.deliver_due(store, notifiers, POLICY, NOW) == 1
    assert outbox.deliver_due(store, notifiers, POLICY, NOW + 100) == 0
    [body] = alert_webhook.bodies()
    assert body["text"].startswith("FIRING [warning] default/backlog: backlog is bad")
    assert (body["status"], body["bot"], body["alert"]) == ("firing", "default", "backlog")
    assert body["details"] == {"pending_update_count": 7}
    assert states(store, tid) == ["sent"]
    assert sent_count("sent") == before + 1


def test_a_failed_send_is_retried_after_the_backoff(store, alert_webhook, notifiers):
    alert_webhook.statuses = [503]
    retries = sent_count("retry")
    tid = queue_alert(store)
    assert outbox.deliver_due(store, notifiers, POLICY, NOW) == 0
    assert outbox.deliver_due(store, notifiers, POLICY, NOW + 9) == 0  # base is 10 s
    assert states(store, tid) == ["pending"]
    assert outbox.deliver_due(store, notifiers, POLICY, NOW + 10) == 1
    assert [r["status"] for r in alert_webhook.received] == [503, 200]
    assert sent_count("retry") == retries + 1


def test_retry_after_from_the_receiver_is_honoured(store, alert_webhook, notifiers):
    alert_webhook.statuses, alert_webhook.headers = [429], {"Retry-After": "30"}
    queue_alert(store)
    outbox.deliver_due(store, notifiers, POLICY, NOW)
    assert outbox.deliver_due(store, notifiers, POLICY, NOW + 29) == 0
    assert outbox.deliver_due(store, notifiers, POLICY, NOW + 30) == 1


@pytest.mark.parametrize(
    "statuses, attempts",
    [
        ([400], 1),  # the receiver rejects the payload: retrying cannot help
        ([500, 500, 500], 3),  # budget of 3 attempts used up
    ],
)
def test_hopeless_notifications_are_given_up_and_counted(
    store, alert_webhook, notifiers, statuses, attempts
):
    alert_webhook.statuses = list(statuses)
    failed = sent_count("failed")
    tid = queue_alert(store)
    for step in range(5):
        outbox.deliver_due(store, notifiers, POLICY, NOW + step * 100)
    assert len(alert_webhook.received) == attempts
    assert states(store, tid) == ["failed"]
    assert sent_count("failed") == failed + 1


def test_a_sender_that_died_mid_send_leaves_the_alert_to_be_resent(store, alert_webhook, notifiers):
    tid = queue_alert(store)
    [claimed] = store.claim_notifications(NOW, lease_seconds=60)  # then "crashes"
    assert outbox.deliver_due(store, notifiers, POLICY, NOW + 59) == 0  # lease still held
    assert outbox.deliver_due(store, notifiers, POLICY, NOW + 61) == 1
    assert states(store, tid) == ["sent"]
    assert not store.finish_notification(claimed, sent=True, now=NOW + 62)  # its lease is gone


class Exploding:
    channel = "webhook"

    def send(self, transition) -> None:
        raise KeyError("bug in a channel")


def test_a_crashing_channel_is_retried_like_a_failed_send(store):
    tid = queue_alert(store)
    assert outbox.deliver_due(store, {"webhook": Exploding()}, POLICY, NOW) == 0
    assert states(store, tid) == ["pending"]


def test_a_channel_removed_from_the_configuration_fails_its_queued_rows(store):
    tid = queue_alert(store, channels=("email",))
    outbox.deliver_due(store, {}, POLICY, NOW)
    assert states(store, tid) == ["failed"]


@pytest.mark.parametrize(
    "attempts, error, expected",
    [
        (1, NotifyError("x"), 10),
        (2, NotifyError("x"), 20),
        (3, NotifyError("x"), None),  # max_attempts reached
        (1, NotifyError("x", retry_after=45), 45),
        (2, NotifyError("x", retry_after=5), 20),  # backoff longer than retry_after
        (1, NotifyError("x", permanent=True), None),
    ],
)
def test_retry_policy(attempts, error, expected):
    assert POLICY.delay(attempts, error) == expected


def test_backoff_is_capped():
    assert (
        RetryPolicy(max_attempts=50, base_seconds=10, cap_seconds=60).delay(20, NotifyError("x"))
        == 60
    )
