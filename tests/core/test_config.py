"""Settings: declared once, read strictly from the environment, all problems at once."""

from __future__ import annotations

import json
import stat

import pytest

import app
from core.config import (
    ConfigError,
    NoGeneratedSecret,
    Secret,
    ensure_generated_secret,
    load_settings,
)
from core.settings_table import SETTINGS

SECRET_ENV = {"TGWEBHOOK_SECRET_TOKEN": "s3cret"}


def test_defaults_match_the_declaration():
    settings = load_settings({"TGWEBHOOK_INSECURE_NO_SECRET": "false", **SECRET_ENV})
    for setting in SETTINGS:
        if setting.name == "secret_token":
            continue
        default = setting.default() if callable(setting.default) else setting.default
        owner = settings.bots["default"] if setting.per_bot else settings
        value = getattr(owner, setting.attr)
        assert (value.reveal() if isinstance(value, Secret) else value) == default, setting.name


def test_refuses_to_start_without_a_secret():
    with pytest.raises(ConfigError, match="TGWEBHOOK_SECRET_TOKEN: no secret token"):
        load_settings({})


def test_insecure_mode_must_be_explicit():
    assert not load_settings({"TGWEBHOOK_INSECURE_NO_SECRET": "true"}).bots["default"].secret_token


def test_every_problem_is_reported_at_once_with_its_variable():
    env = {
        "TGWEBHOOK_SECRET_TOKEN": "bad secret!",
        "TGWEBHOOK_WORKERS": "many",
        "TGWEBHOOK_DEDUP_RETENTION_HOURS": "1",
        "TGWEBHOOK_IP_ALLOWLIST": "maybe",
        "TGWEBHOOK_BOT_TOKEN": "nope",
        "TGWEBHOOK_ALLOWED_NETWORKS": "10.0.0.0/33",
    }
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    text = str(caught.value)
    for var in (
        "SECRET_TOKEN",
        "WORKERS",
        "DEDUP_RETENTION_HOURS",
        "IP_ALLOWLIST",
        "ALLOWED_NETWORKS",
    ):
        assert f"TGWEBHOOK_{var}" in text
    assert "bot token" in text
    assert len(caught.value.problems) == 6


def test_secret_values_never_appear_in_errors_or_repr():
    token = "123:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    with pytest.raises(ConfigError) as caught:
        load_settings({"TGWEBHOOK_SECRET_TOKEN": "has space", "TGWEBHOOK_BOT_TOKEN": token + "!"})
    assert "has space" not in str(caught.value) and token not in str(caught.value)
    settings = load_settings({"TGWEBHOOK_SECRET_TOKEN": "s3cret", "TGWEBHOOK_BOT_TOKEN": token})
    assert "s3cret" not in repr(settings) and token not in repr(settings)


def test_secrets_are_read_from_files(tmp_path):
    path = tmp_path / "secret"
    path.write_text("from-file\n")
    settings = load_settings({"TGWEBHOOK_SECRET_TOKEN_FILE": str(path)})
    assert settings.bots["default"].secret_token.reveal() == "from-file"


def test_missing_secret_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="TGWEBHOOK_SECRET_TOKEN_FILE: cannot read"):
        load_settings({"TGWEBHOOK_SECRET_TOKEN_FILE": str(tmp_path / "absent")})


def test_multi_bot_toml(tmp_path):
    (tmp_path / "b.secret").write_text("sb")
    config = tmp_path / "bots.toml"
    config.write_text(
        'poll_interval_seconds = 30\n[bots.shop]\nsecret_token = "sa"\nforward_url = "http://x"\n'
        f'[bots.support]\nsecret_token_file = "{tmp_path / "b.secret"}"\nmax_connections = 10\n'
    )
    settings = load_settings({"TGWEBHOOK_CONFIG": str(config)})
    assert sorted(settings.bots) == ["shop", "support"]
    assert settings.poll_interval_seconds == 30
    assert settings.bots["support"].secret_token.reveal() == "sb"
    assert settings.bots["support"].max_connections == 10
    assert settings.bots["shop"].forward_url == "http://x"


def test_environment_overrides_the_toml_file(tmp_path):
    config = tmp_path / "bots.toml"
    config.write_text('poll_interval_seconds = 30\n[bots.a]\nsecret_token = "sa"\n')
    env = {"TGWEBHOOK_CONFIG": str(config), "TGWEBHOOK_POLL_INTERVAL_SECONDS": "5"}
    assert load_settings(env).poll_interval_seconds == 5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not = [toml", "not valid TOML"),
        ('typo_setting = 1\n[bots.a]\nsecret_token = "s"', "unknown setting 'typo_setting'"),
        ('[bots.a]\nsecret = "s"', "unknown key 'secret'"),
        ('[bots."bad name"]\nsecret_token = "s"', "name must be"),
        ('[bots.a]\nsecret_token = "s"\nmax_connections = 500', "max_connections must be 1..100"),
        ('[bots.a]\nsecret_token = "s"\nmax_connections = "many"', "max_connections: expected int"),
        ("[bots.a]\n", "no secret token"),
    ],
)
def test_bad_toml_is_reported_clearly(tmp_path, content, message):
    config = tmp_path / "bots.toml"
    config.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings({"TGWEBHOOK_CONFIG": str(config)})


def test_per_bot_settings_live_on_the_bot_only():
    settings = load_settings({**SECRET_ENV, "TGWEBHOOK_FORWARD_URL": "http://bot:8000/"})
    assert settings.bots["default"].forward_url == "http://bot:8000/"
    for setting in SETTINGS:
        assert hasattr(settings, setting.attr) != setting.per_bot, setting.name


def test_toml_bots_share_the_public_base_url_and_insecure_mode(tmp_path):
    config = tmp_path / "bots.toml"
    config.write_text('[bots.a]\n[bots.b]\npublic_url = "https://b.example"\n')
    env = {
        "TGWEBHOOK_CONFIG": str(config),
        "TGWEBHOOK_PUBLIC_URL": "https://all.example",
        "TGWEBHOOK_INSECURE_NO_SECRET": "true",
    }
    bots = load_settings(env).bots
    assert (bots["a"].public_url, bots["b"].public_url) == (
        "https://all.example",
        "https://b.example",
    )
    assert bots["a"].insecure_no_secret and bots["b"].insecure_no_secret


def test_settings_without_a_secret_load_for_setup_only():
    settings = load_settings({}, require_secrets=False)
    assert not settings.bots["default"].secret_token
    with pytest.raises(ConfigError, match="WORKERS"):
        load_settings({"TGWEBHOOK_WORKERS": "0"}, require_secrets=False)


def test_a_generated_secret_is_private_reused_and_read_at_start(tmp_path):
    db = str(tmp_path / "data" / "tg.db")
    first = ensure_generated_secret(db, "default")
    assert first.created and first.path == tmp_path / "data" / "secret_token.default"
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    again = ensure_generated_secret(db, "default")
    assert not again.created and again.secret == first.secret
    assert load_settings({"TGWEBHOOK_DB": db}).bots["default"].secret_token == first.secret


def test_no_secret_is_generated_for_a_shared_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NoGeneratedSecret, match="every replica needs the same one"):
        ensure_generated_secret("postgresql://tg:hunter2@db/tg", "default")
    assert list(tmp_path.iterdir()) == []


def test_check_config_shows_every_setting_with_secrets_hidden(monkeypatch, capsys, tmp_path):
    token = "123:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    env = {"DB": str(tmp_path / "t.db"), "BOT_TOKEN": token, "SECRET_TOKEN": "s3cret"}
    for name, value in env.items():
        monkeypatch.setenv("TGWEBHOOK_" + name, value)
    assert app.main(["check-config", "--json"]) == 0
    out = capsys.readouterr().out
    shown = json.loads(out)
    bot = shown.pop("bots")["default"]
    assert set(shown) | set(bot) == {s.name for s in SETTINGS}
    assert bot["secret_token"] == "Secret('***')" and shown["db"] == env["DB"]
    assert token not in out and "s3cret" not in out
