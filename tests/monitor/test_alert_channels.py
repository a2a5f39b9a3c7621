"""Each alert channel against a real server: the simulator (Telegram), Alertmanager, an SMTP
server (aiosmtpd), and the outbox retrying a Telegram 429 after its retry_after."""

from __future__ import annotations

import logging
import ssl
import time
from email import message_from_bytes

import pytest
import requests
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from core.config import ConfigError, Secret, load_settings
from core.storage import AlertState
from core.telegram import TelegramClient
from monitor import alerts, outbox
from monitor.notifiers import build_notifiers, channels_for
from monitor.notifiers.alertmanager import AlertmanagerNotifier
from monitor.notifiers.base import NotifyError, RetryPolicy
from monitor.notifiers.email import EmailNotifier, SmtpTarget, parse_smtp_url
from monitor.notifiers.telegram import TelegramNotifier, send_interval
from monitor.rules import CRITICAL, Finding
from simulator.harness import make_token
from tests.helpers.support import free_port

CHAT = "-100200300"
FINDING = Finding(
    "default",
    "delivery_errors",
    CRITICAL,
    "Telegram cannot deliver",
    {"error_class": "auth", "pending_update_count": 12},
)


def fired(at: float | None = None):
    return alerts.transition(
        AlertState("default", "delivery_errors"), FINDING, at or time.time(), 0
    )


def resolved(fire_at: float, at: float):
    firing = AlertState(
        "default", "delivery_errors", "firing", CRITICAL, FINDING.summary, fire_at, fire_at, 1
    )
    return alerts.transition(firing, None, at, 0)


# -- Telegram ----------------------------------------------------------------------------
def sent_texts(sim, token: str) -> list[str]:
    """Texts of the sendMessage calls the simulator accepted."""
    calls = sim.admin.calls(token, method="sendMessage")
    return [c["params"]["text"] for c in calls if c.get("ok")]


def test_telegram_alerts_go_through_the_alert_bot_when_one_is_configured(sim, tmp_path):
    bot_token, alert_token = make_token(1), make_token(2)
    settings = load_settings(
        {
            "TGWEBHOOK_DB": str(tmp_path / "t.db"),
            "TGWEBHOOK_SECRET_TOKEN": "s",
            "TGWEBHOOK_BOT_TOKEN": bot_token,
            "TGWEBHOOK_API_BASE": sim.base_url,
            "TGWEBHOOK_ALERT_TELEGRAM_CHAT_ID": CHAT,
            "TGWEBHOOK_ALERT_TELEGRAM_TOKEN": alert_token,
        }
    )
    notifiers = build_notifiers(settings)
    assert channels_for(notifiers, "default") == ("telegram",)
    notifiers["telegram"].send(fired())
    [text] = sent_texts(sim, alert_token)
    assert text.startswith("FIRING [critical] default/delivery_errors: Telegram cannot deliver")
    assert "pending_update_count: 12" in text
    assert sent_texts(sim, bot_token) == []
    [call] = sim.admin.calls(alert_token, method="sendMessage")
    assert call["params"]["chat_id"] in (CHAT, int(CHAT))


def test_alerting_through_the_monitored_bot_works_but_warns(sim, tmp_path, caplog):
    bot_token = make_token(1)
    settings = load_settings(
        {
            "TGWEBHOOK_DB": str(tmp_path / "t.db"),
            "TGWEBHOOK_SECRET_TOKEN": "s",
            "TGWEBHOOK_BOT_TOKEN": bot_token,
            "TGWEBHOOK_API_BASE": sim.base_url,
            "TGWEBHOOK_ALERT_TELEGRAM_CHAT_ID": CHAT,
        }
    )
    with caplog.at_level(logging.WARNING, logger="monitor"):
        notifiers = build_notifiers(settings)
    assert "TGWEBHOOK_ALERT_TELEGRAM_TOKEN" in caplog.text
    assert bot_token.split(":")[1] not in caplog.text
    notifiers["telegram"].send(fired())
    assert len(sent_texts(sim, bot_token)) == 1


def test_a_telegram_429_is_retried_after_its_retry_after(sim, token, store):
    sim.admin.add_fault("sendMessage", token=token, error_code=429, retry_after=3, times=1)
    notifier = TelegramNotifier(CHAT, {"default": TelegramClient(Secret(token), sim.base_url)})
    now = time.time()
    store.save_transition(fired(now), 0, ["telegram"])
    policy = RetryPolicy(base_seconds=1)
    assert outbox.deliver_due(store, {"telegram": notifier}, policy, now) == 0
    assert outbox.deliver_due(store, {"telegram": notifier}, policy, now + 2.9) == 0
    assert outbox.deliver_due(store, {"telegram": notifier}, policy, now + 3) == 1
    outcomes = [c.get("error_code") for c in sim.admin.calls(token, method="sendMessage")]
    assert outcomes == [429, None]


@pytest.mark.parametrize(
    ("chat_id", "seconds"),
    [("4242", 1.0), ("@ops_channel", 1.0), ("-4242", 3.0), ("-100200300", 3.0), (-100200300, 3.0)],
)
def test_alerts_to_a_group_are_spaced_for_its_20_a_minute_limit(chat_id, seconds):
    assert send_interval(chat_id) == seconds


def test_telegram_alerts_to_one_chat_are_paced_about_one_per_second(sim, token):
    notifier = TelegramNotifier("4242", {"default": TelegramClient(Secret(token), sim.base_url)})
    for _ in range(3):
        notifier.send(fired())
    times = [c["time"] for c in sim.admin.calls(token, method="sendMessage")]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    # Paced at the start of each send; arrival times also carry each call's latency.
    assert len(times) == 3 and min(gaps) >= 0.75


def test_a_bot_without_any_token_cannot_alert_through_telegram(sim):
    with pytest.raises(NotifyError) as caught:
        TelegramNotifier(CHAT, {}).send(fired())
    assert caught.value.permanent


# -- Alertmanager ------------------------------------------------------------------------
def active_alerts(base: str) -> list[dict]:
    return requests.get(base + "/api/v2/alerts", params={"active": "true"}, timeout=5).json()


def test_alertmanager_receives_the_alert_with_labels_and_loses_it_on_resolve(alertmanager):
    notifier = AlertmanagerNotifier(alertmanager, timeout=5)
    start = time.time()
    notifier.send(fired(start))
    [alert] = active_alerts(alertmanager)
    assert alert["labels"] == {
        "alertname": "delivery_errors",
        "bot": "default",
        "severity": "critical",
        "service": "tgwebhook",
    }
    assert alert["annotations"]["summary"] == "Telegram cannot deliver"
    assert alert["annotations"]["error_class"] == "auth"
    assert alert["status"]["state"] == "active"
    notifier.send(resolved(start, time.time()))
    assert active_alerts(alertmanager) == []


def test_refresh_keeps_a_firing_alert_open_in_alertmanager(alertmanager):
    notifier = AlertmanagerNotifier(alertmanager, timeout=5)
    start = time.time()
    notifier.send(fired(start))
    [first] = active_alerts(alertmanager)
    time.sleep(1.1)
    firing = AlertState("default", "delivery_errors", "firing", CRITICAL, "still", start, start, 1)
    assert notifier.refresh([firing]) == 1
    [again] = active_alerts(alertmanager)
    assert again["endsAt"] > first["endsAt"]
    assert again["fingerprint"] == first["fingerprint"]  # the same alert, extended


def test_an_unreachable_alertmanager_is_a_retryable_error():
    notifier = AlertmanagerNotifier(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(NotifyError) as caught:
        notifier.send(fired())
    assert not caught.value.permanent


# -- email -------------------------------------------------------------------------------
class Mailbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp_server():
    """Start an aiosmtpd server with the given options; all are stopped at teardown."""
    started = []

    def start(**options) -> tuple[Mailbox, int]:
        mailbox, port = Mailbox(), free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        started.append(controller)
        return mailbox, port

    yield start
    for controller in started:
        controller.stop()


PLAIN_AUTH = {"auth_require_tls": False, "auth_exclude_mechanism": ["LOGIN"]}


def login_as(user: str, password: str):
    def check(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
        return AuthResult(success=ok and auth_data.password == password.encode(), handled=False)

    return check


def test_email_alert_arrives_with_subject_and_body(smtp_server):
    mailbox, port = smtp_server()
    target = parse_smtp_url(f"smtp://127.0.0.1:{port}")
    EmailNotifier(target, "tg@example.com", ("ops@example.com", "dev@example.com"), 5).send(fired())
    [(recipients, message)] = mailbox.messages
    assert recipients == ["ops@example.com", "dev@example.com"]
    assert message["Subject"].startswith("[tgwebhook] FIRING [critical] default/delivery_errors")
    assert "error_class: auth" in message.get_payload()


def test_email_logs_in_with_the_credentials_of_the_url(smtp_server):
    mailbox, port = smtp_server(authenticator=login_as("alerts", "p@ss word"), **PLAIN_AUTH)
    target = parse_smtp_url(f"smtp://alerts:p%40ss%20word@127.0.0.1:{port}")
    EmailNotifier(target, "tg@example.com", ("ops@example.com",), 5).send(fired())
    assert len(mailbox.messages) == 1


def test_rejected_credentials_are_permanent_and_never_shown(smtp_server):
    _, port = smtp_server(authenticator=login_as("alerts", "right"), **PLAIN_AUTH)
    target = parse_smtp_url(f"smtp://alerts:wrong-pass-123@127.0.0.1:{port}")
    with pytest.raises(NotifyError) as caught:
        EmailNotifier(target, "tg@example.com", ("ops@example.com",), 5).send(fired())
    assert caught.value.permanent and "wrong-pass-123" not in str(caught.value)


def test_email_upgrades_to_tls_with_starttls(smtp_server):
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    mailbox, port = smtp_server(tls_context=server_context, require_starttls=True)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    target = parse_smtp_url(f"smtp://127.0.0.1:{port}?starttls=true")
    EmailNotifier(target, "tg@example.com", ("ops@example.com",), 5, client_context).send(fired())
    assert len(mailbox.messages) == 1
    plain = parse_smtp_url(f"smtp://127.0.0.1:{port}")  # the server insists on STARTTLS
    with pytest.raises(NotifyError):
        EmailNotifier(plain, "tg@example.com", ("ops@example.com",), 5).send(fired())


@pytest.mark.parametrize(
    "url, target",
    [
        ("smtp://mail.example.com", SmtpTarget("mail.example.com", 25, False, False)),
        (
            "smtp://u:p@mail.example.com:587?starttls=true",
            SmtpTarget("mail.example.com", 587, False, True, "u", "p"),
        ),
        (
            "smtps://u:p%2Fq@mail.example.com",
            SmtpTarget("mail.example.com", 465, True, False, "u", "p/q"),
        ),
    ],
)
def test_smtp_url_forms(url, target):
    assert parse_smtp_url(url) == target


def test_an_smtp_url_of_another_scheme_is_refused():
    with pytest.raises(ValueError):
        parse_smtp_url("http://mail.example.com")


def test_a_malformed_smtp_url_is_a_configuration_error_that_hides_the_password(make_settings):
    with pytest.raises(ConfigError) as caught:
        make_settings(smtp_url="mail.example.com:25/user:hunter2")
    assert "TGWEBHOOK_SMTP_URL" in str(caught.value) and "hunter2" not in str(caught.value)
