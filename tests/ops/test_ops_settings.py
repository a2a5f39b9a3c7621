"""Where the ops listener listens by default, and the configurations refused at start."""

from __future__ import annotations

import pytest

from core.config import ConfigError, load_settings
from core.listeners import ops_address

SECRET_ENV = {"TGWEBHOOK_SECRET_TOKEN": "s3cret"}


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:8080", "127.0.0.1:8080"),  # loopback: one URL for local use
        ("localhost:8081", "localhost:8081"),
        ("[::1]:8080", "[::1]:8080"),
        ("0.0.0.0:8080", "127.0.0.1:9080"),  # public: ops on a loopback port of its own
        ("192.0.2.7:8443", "127.0.0.1:9080"),
    ],
)
def test_unset_ops_listen_shares_a_loopback_listener_else_takes_loopback_9080(listen, expected):
    settings = load_settings({**SECRET_ENV, "TGWEBHOOK_LISTEN": listen})
    assert ops_address(settings) == expected


@pytest.mark.parametrize(
    "credentials",
    [
        {"TGWEBHOOK_OPS_TOKEN": "t0ken-value"},
        {"TGWEBHOOK_OPS_USERS_FILE": "/etc/tgwebhook/users"},  # console basic-auth users only
    ],
)
def test_a_reachable_ops_listener_with_credentials_is_accepted(credentials):
    env = {"TGWEBHOOK_LISTEN": "0.0.0.0:8080", "TGWEBHOOK_OPS_LISTEN": "0.0.0.0:9080"}
    settings = load_settings({**SECRET_ENV, **env, **credentials})
    assert ops_address(settings) == "0.0.0.0:9080"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OPS_LISTEN": "0.0.0.0:9080"}, "TGWEBHOOK_OPS_TOKEN (or TGWEBHOOK_OPS_TOKEN_FILE)"),
        ({"LISTEN": "0.0.0.0:8080", "OPS_LISTEN": "0.0.0.0:8080"}, "an address of its own"),
        ({"OPS_LISTEN": "127.0.0.2:8080"}, "needs a port of its own"),
        ({"OPS_LISTEN": "9080"}, "must be HOST:PORT"),
    ],
)
def test_an_ops_listener_the_public_could_reach_unguarded_is_refused(env, expected):
    full = {**SECRET_ENV, **{"TGWEBHOOK_" + key: value for key, value in env.items()}}
    with pytest.raises(ConfigError, match="TGWEBHOOK_OPS_LISTEN") as caught:
        load_settings(full)
    assert expected in str(caught.value)


def test_the_ops_token_never_shows_in_errors_or_repr():
    env = {**SECRET_ENV, "TGWEBHOOK_OPS_TOKEN": "very-secret-ops", "TGWEBHOOK_WORKERS": "x"}
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert "very-secret-ops" not in str(caught.value)
    settings = load_settings({**env, "TGWEBHOOK_WORKERS": "2"})
    assert "very-secret-ops" not in repr(settings)
