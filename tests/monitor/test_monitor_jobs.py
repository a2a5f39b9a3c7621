"""The monitor's jobs in-process: poll the simulator, judge, notify a local receiver, prune,
check certificates; and what the web's /metrics then exports from the store."""

from __future__ import annotations

import datetime as dt
import ssl
import time
from pathlib import Path

import pytest
import trustme
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from core.certificates import self_signed
from core.config import Secret
from core.metrics import ALERTS
from core.storage import AlertState, IncomingUpdate, open_store
from core.telegram import TelegramClient
from monitor import alerts, jobs, poller
from monitor.rules import WARNING, Finding
from tests.helpers.monitor_kit import TlsSite, observation
from tests.helpers.support import free_port, wait_until


@pytest.fixture
def monitored(make_settings, sim, token, alert_webhook):
    settings = make_settings(
        bot_token=token,
        api_base=sim.base_url,
        poll_interval_seconds=1,
        alert_webhook_url=alert_webhook.url,
    )
    store = open_store(settings.db)
    yield jobs.MonitorContext.build(settings, store)
    store.close()


def poll_errors(bot: str = "default") -> float:
    return REGISTRY.get_sample_value("tgwebhook_telegram_poll_errors_total", {"bot": bot}) or 0.0


def test_a_poll_stores_what_telegram_reports(monitored, sim, token):
    url = f"http://127.0.0.1:{free_port()}/webhook/default"  # nobody listens: deliveries fail
    TelegramClient(Secret(token), sim.base_url).set_webhook(url, secret_token=Secret("x"))
    sim.admin.inject(token, text="one", chat_id=1)
    sim.admin.inject(token, text="two", chat_id=2)
    wait_until(lambda: sim.admin.webhook_info(token).get("last_error_date"))
    obs = poller.poll(monitored.clients["default"], monitored.store, "default", time.time())
    assert obs.ok and obs.url == url and obs.pending_update_count == 2
    assert obs.last_error_message == "Connection refused"
    assert monitored.store.latest_observation("default") == obs


def test_a_failed_poll_is_stored_and_counted(monitored, sim, token):
    sim.admin.revoke(token)
    before = poll_errors()
    obs = poller.poll(monitored.clients["default"], monitored.store, "default", time.time())
    assert (obs.ok, obs.error_code, obs.error) == (False, 401, "Unauthorized")
    assert monitored.store.latest_observation("default") == obs
    assert poll_errors() == before + 1


def test_a_revoked_token_alerts_at_once_through_the_webhook_channel(
    monitored, sim, token, alert_webhook
):
    sim.admin.revoke(token)
    jobs.watch_bot(monitored, "default")
    jobs.deliver_notifications(monitored)
    [body] = alert_webhook.bodies()
    assert (body["alert"], body["severity"], body["status"]) == (
        "poll_failing",
        "critical",
        "firing",
    )
    sim.admin.unrevoke(token)
    jobs.watch_bot(monitored, "default")
    jobs.deliver_notifications(monitored)
    resolved = [b for b in alert_webhook.bodies() if b["alert"] == "poll_failing"][1:]
    assert [b["status"] for b in resolved] == ["resolved"]


def test_the_web_exports_every_alert_of_every_bot_with_the_firing_ones_at_1(settings):
    app = create_app(settings)
    store = app.extensions["tgwebhook.store"]
    finding = Finding("default", "dead_letters", WARNING, "2 dead")
    store.save_transition(
        alerts.transition(AlertState("default", "dead_letters"), finding, time.time(), 0), 0, []
    )
    text = app.test_client().get("/metrics").text
    firing = {
        s.labels["alert"]: s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "tgwebhook_alert_firing"
    }
    assert firing == {alert: (1.0 if alert == "dead_letters" else 0.0) for alert in ALERTS}
    store.close()


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def test_the_certificate_job_stores_the_expiry_and_the_web_exports_days_left(
    make_settings, ca, tmp_path
):
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    site = TlsSite(ca.issue_cert("localhost", not_after=expires))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    try:
        settings = make_settings(public_url=site.url())
        app = create_app(settings)
        store = app.extensions["tgwebhook.store"]
        jobs.check_certificates(jobs.MonitorContext.build(settings, store), str(ca_file))
    finally:
        site.stop()
    check = store.certificate_check("default")
    assert check.error == "" and abs(check.not_after - expires.timestamp()) < 2
    text = app.test_client().get("/metrics").text
    [days] = [
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "tgwebhook_certificate_expiry_days"
    ]
    assert 29.9 < days < 30.1
    store.close()


def test_pruning_drops_observations_older_than_the_retention(monitored):
    now = time.time()
    store = monitored.store
    store.save_observation(observation(now - jobs.OBSERVATION_RETENTION_SECONDS - 60, 1))
    store.save_observation(observation(now - 60, 2))
    jobs.prune(monitored)
    assert [o.pending_update_count for o in store.recent_observations("default")] == [2]


def test_pruning_forgets_spent_flood_keys_and_keeps_blocks(monitored):
    store, now = monitored.store, time.time()
    store.record_flood("default", "block:sendmessage:1", now - 5)  # over: forgotten
    store.record_flood("default", "block:sendmessage:2", now + 600)  # still holding
    jobs.prune(monitored)
    with store.write() as conn:
        keys = [row[0] for row in conn.execute("SELECT key FROM flood_keys").fetchall()]
    assert keys == ["block:sendmessage:2"]


class PemPair:
    """A certificate and key on disk, configured the way trustme's leaf certificates are."""

    def __init__(self, folder: Path) -> None:
        pair = self_signed("127.0.0.1", 30, dt.datetime.now(dt.UTC))
        self.cert, self.key = folder / "cert.pem", folder / "key.pem"
        self.cert.write_bytes(pair.cert_pem)
        self.key.write_bytes(pair.key_pem)

    def configure_cert(self, context: ssl.SSLContext) -> None:
        context.load_cert_chain(self.cert, self.key)


@pytest.mark.parametrize("served_by_us", [True, False], ids=["our-tls-files", "someone-else"])
def test_a_self_signed_certificate_is_judged_against_itself_only_when_it_is_ours(
    make_settings, tmp_path, served_by_us
):
    pair = PemPair(tmp_path)
    site = TlsSite(pair)  # type: ignore[arg-type]
    ours = {"tls_cert_file": pair.cert, "tls_key_file": pair.key} if served_by_us else {}
    settings = make_settings(public_url=site.url("127.0.0.1"), **ours)
    store = open_store(settings.db)
    try:
        jobs.check_certificates(jobs.MonitorContext.build(settings, store))
        check = store.certificate_check("default")
    finally:
        site.stop()
        store.close()
    assert (check.error == "") is served_by_us


def test_a_polling_bots_unconfirmed_updates_are_its_queue_for_the_rules(monitored):
    store, now = monitored.store, time.time()
    assert not monitored.settings.bots["default"].forward_url  # poll mode
    for update_id in (1, 2, 3):
        update = IncomingUpdate("default", update_id, "message", "7", b"{}", now - 600, True)
        assert store.record_update(update, forward=False)
    queue = jobs.gather_facts(monitored, "default", now).queue
    assert (queue.depth, round(queue.oldest_age_seconds)) == (3, 600)
