"""The bot token check: what @BotFather issues, <digits>:<key>, without guessing the key's shape."""

from __future__ import annotations

import pytest

from core.config import ConfigError, load_settings

SECRET_ENV = {"TGWEBHOOK_SECRET_TOKEN": "s3cret"}


@pytest.mark.parametrize("token", ["1:a", "123456789:AAH-short_key", "42:key.with~other:chars"])
def test_any_digits_colon_key_token_is_accepted(token):
    settings = load_settings({**SECRET_ENV, "TGWEBHOOK_BOT_TOKEN": token})
    assert settings.bots["default"].token.reveal() == token


@pytest.mark.parametrize("token", ["nope", "abc:def", "123:", ":key", "1:has space", "1:a/b"])
def test_a_token_not_of_that_shape_is_refused_with_the_rule_and_its_reason(token):
    with pytest.raises(ConfigError) as caught:
        load_settings({**SECRET_ENV, "TGWEBHOOK_BOT_TOKEN": token})
    message = str(caught.value)
    assert "<digits>:<key>" in message and "Bot API URL" in message
    assert token not in message
