"""The simulator checks an https webhook's TLS as Telegram does: against the certificate
uploaded with setWebhook and nothing else, else against its trust store (`ca_file` here),
and records Telegram's last_error_message texts when that fails."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest
import requests
import trustme

from core.certificates import self_signed

VERIFY_FAILED = "SSL error {error:0A000086:SSL routines::certificate verify failed}"
NOW = dt.datetime.now(dt.UTC)


def served_by(cert_pem: bytes, key_pem: bytes, folder: Path) -> ssl.SSLContext:
    folder.mkdir(exist_ok=True)
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


def set_webhook(sim, token: str, url: str, certificate: bytes | None = None) -> dict:
    files = {"certificate": ("cert.pem", certificate)} if certificate else None
    resp = requests.post(
        sim.api_url(token, "setWebhook"), data={"url": url}, files=files, timeout=10
    )
    return resp.json()


def last_error(sim, token: str) -> str:
    sim.admin.inject(token, text="hi", chat_id=5)
    return sim.admin.wait_for(lambda: sim.admin.webhook_info(token).get("last_error_message"))


@pytest.fixture
def authority(tmp_path) -> tuple[trustme.CA, str]:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    return ca, str(tmp_path / "ca.pem")


def test_a_certificate_from_the_trust_store_needs_no_upload(
    make_sim, make_receiver, authority, token
):
    ca, ca_file = authority
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    receiver = make_receiver(ssl_context=context)
    sim = make_sim(ca_file=ca_file)
    assert set_webhook(sim, token, receiver.url)["ok"] is True
    (update,) = sim.admin.inject(token, text="trusted", chat_id=5)
    assert receiver.wait_for(1)[0].update == update


def test_an_upload_replaces_the_trust_store(make_sim, make_receiver, authority, token, tmp_path):
    ca, ca_file = authority
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    receiver = make_receiver(ssl_context=context)
    sim = make_sim(ca_file=ca_file)
    unrelated = self_signed("127.0.0.1", 30, NOW).cert_pem
    set_webhook(sim, token, receiver.url, unrelated)
    assert last_error(sim, token) == VERIFY_FAILED
    assert receiver.hits == []


@pytest.mark.parametrize(
    ("host", "issued_days_ago", "days"),
    [("10.0.0.9", 0, 30), ("127.0.0.1", 10, 5)],
    ids=["san-for-another-ip", "expired"],
)
def test_an_uploaded_self_signed_certificate_that_does_not_fit_fails_verification(
    sim, make_receiver, token, tmp_path, host, issued_days_ago, days
):
    pair = self_signed(host, days, NOW - dt.timedelta(days=issued_days_ago))
    receiver = make_receiver(ssl_context=served_by(pair.cert_pem, pair.key_pem, tmp_path / "s"))
    set_webhook(sim, token, receiver.url, pair.cert_pem)
    assert last_error(sim, token) == VERIFY_FAILED
    assert receiver.hits == []


def test_an_uploaded_self_signed_certificate_for_the_ip_is_trusted(
    sim, make_receiver, token, tmp_path
):
    pair = self_signed("127.0.0.1", 30, NOW)
    receiver = make_receiver(ssl_context=served_by(pair.cert_pem, pair.key_pem, tmp_path / "s"))
    assert set_webhook(sim, token, receiver.url, pair.cert_pem)["ok"] is True
    assert sim.admin.webhook_info(token)["has_custom_certificate"] is True
    (update,) = sim.admin.inject(token, text="self-signed", chat_id=5)
    assert receiver.wait_for(1)[0].update == update


def test_plain_http_behind_an_https_url_is_telegrams_wrong_version_number(
    sim, make_receiver, token
):
    receiver = make_receiver()  # plain HTTP
    set_webhook(sim, token, receiver.url.replace("http://", "https://"))
    assert last_error(sim, token) == (
        "SSL error {error:0A00010B:SSL routines::wrong version number}"
    )
