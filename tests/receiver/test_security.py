"""Secret comparison and the source-IP allowlist, including X-Forwarded-For from trusted proxies."""

from __future__ import annotations

import pytest

from app import create_app
from core.config import Secret
from core.settings_table import TELEGRAM_NETWORKS
from core.telegram import SECRET_HEADER
from receiver.security import client_address, is_secret_valid, is_source_allowed, parse_networks
from tests.helpers.support import SECRET

TELEGRAM = parse_networks(TELEGRAM_NETWORKS)
PROXIES = parse_networks(["10.0.0.0/8", "fd00::/8"])


@pytest.mark.parametrize(
    ("expected", "given", "valid"),
    [
        ("abc", "abc", True),
        ("abc", "abd", False),
        ("abc", None, False),
        ("abc", "", False),
        ("abc", "abcd", False),
        ("", None, True),
        ("abc", "ä", False),
    ],
)
def test_secret_comparison(expected, given, valid):
    assert is_secret_valid(Secret(expected), given) is valid


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("149.154.160.5", None, "149.154.160.5"),
        ("::ffff:149.154.160.5", None, "149.154.160.5"),  # dual-stack socket
        ("149.154.160.5", "1.2.3.4", "149.154.160.5"),  # untrusted peer: header ignored
        ("10.0.0.2", "149.154.161.1", "149.154.161.1"),
        ("10.0.0.2", "6.6.6.6, 149.154.161.1", "149.154.161.1"),  # right-most untrusted hop
        ("10.0.0.2", "149.154.161.1, 10.0.0.9", "149.154.161.1"),  # skip inner proxies
        ("fd00::1", "91.108.4.7", "91.108.4.7"),
        ("10.0.0.2", "garbage", None),
        ("2001:db8::1", None, "2001:db8::1"),
    ],
)
def test_client_address(peer, forwarded, client):
    found = client_address(peer, forwarded, PROXIES)
    assert (str(found) if found else None) == client


@pytest.mark.parametrize(
    ("peer", "forwarded", "allowed"),
    [
        ("149.154.167.220", None, True),
        ("91.108.6.1", None, True),
        ("91.108.8.1", None, False),
        ("127.0.0.1", None, False),
        ("2001:db8::1", None, False),
        ("10.0.0.2", "91.108.4.1", True),
        ("10.0.0.2", "8.8.8.8", False),
    ],
)
def test_source_allowlist(peer, forwarded, allowed):
    assert is_source_allowed(peer, forwarded, TELEGRAM, PROXIES) is allowed


@pytest.mark.parametrize(("peer", "status"), [("149.154.167.220", 200), ("203.0.113.9", 403)])
def test_allowlist_on_answers_403_outside_telegram_ranges(make_settings, make_update, peer, status):
    app = create_app(make_settings(ip_allowlist="true"))
    response = app.test_client().post(
        "/webhook/default",
        json=make_update(1),
        environ_base={"REMOTE_ADDR": peer},
        headers={SECRET_HEADER: SECRET},
    )
    assert response.status_code == status
    assert app.extensions["tgwebhook.store"].count_updates() == (status == 200)


def test_allowlist_off_by_default_accepts_any_source(post_update, make_update, client):
    response = client.post(
        "/webhook/default",
        json=make_update(1),
        environ_base={"REMOTE_ADDR": "8.8.8.8"},
        headers={SECRET_HEADER: SECRET},
    )
    assert response.status_code == 200
