"""core.telegram against the simulator: results, typed errors, and a token that never leaks."""

from __future__ import annotations

import pytest

from core.config import Secret
from core.telegram import TelegramClient, TelegramError
from tests.helpers.support import free_port


@pytest.fixture
def client(sim, token) -> TelegramClient:
    return TelegramClient(Secret(token), sim.base_url, timeout=2)


def raised(call) -> TelegramError:
    with pytest.raises(TelegramError) as caught:
        call()
    return caught.value


def leaks(error: TelegramError, token: str) -> bool:
    secret = token.split(":", 1)[1]
    texts = [str(error), repr(error), error.description, *map(str, error.args)]
    return any(secret in text for text in texts)


def test_get_webhook_info_and_set_webhook_round_trip(client):
    assert client.get_webhook_info()["url"] == ""
    assert client.set_webhook(
        "http://127.0.0.1:9/webhook/default",
        secret_token=Secret("s3cret"),
        max_connections=5,
        allowed_updates=("message",),
    )
    info = client.get_webhook_info()
    assert (info["url"], info["max_connections"]) == ("http://127.0.0.1:9/webhook/default", 5)
    assert info["allowed_updates"] == ["message"]
    assert client.delete_webhook()
    assert client.get_me()["is_bot"] is True


@pytest.mark.parametrize(
    "fault, code, permanent, retry_after",
    [
        ({"error_code": 429, "retry_after": 3}, 429, False, 3),
        ({"error_code": 502}, 502, False, None),
        ({"error_code": 400, "description": "Bad Request: chat not found"}, 400, True, None),
        ({"error_code": 403}, 403, True, None),
    ],
)
def test_bot_api_errors_become_typed_telegram_errors(
    sim, client, fault, code, permanent, retry_after
):
    sim.admin.add_fault("sendMessage", times=1, **fault)
    error = raised(lambda: client.send_message(42, "hi"))
    assert (error.error_code, error.permanent, error.retry_after) == (code, permanent, retry_after)


def test_a_revoked_token_is_a_permanent_401(sim, client, token):
    sim.admin.revoke(token)
    error = raised(client.get_webhook_info)
    assert (error.error_code, error.permanent) == (401, True)


def test_an_answer_that_is_not_the_bot_api_is_an_error_too(sim, client):
    sim.admin.add_fault("getWebhookInfo", error_code=502, raw_body="<html>Bad Gateway</html>")
    error = raised(client.get_webhook_info)
    assert error.error_code == 502 and "without a Bot API answer" in str(error)


@pytest.mark.parametrize(
    "fault",
    [
        {"disconnect": True},
        {"delay": 5},  # longer than the client's 2 s timeout
        {"error_code": 400, "description": "Bad Request: see {url}"},  # echoes the URL
    ],
)
def test_the_token_never_appears_in_an_error(sim, client, token, fault):
    if "description" in fault:
        fault = {**fault, "description": fault["description"].format(url=sim.api_url(token, "x"))}
    sim.admin.add_fault("getWebhookInfo", times=1, **fault)
    assert not leaks(raised(client.get_webhook_info), token)


def test_the_token_never_appears_in_a_connection_error(token):
    client = TelegramClient(Secret(token), f"http://127.0.0.1:{free_port()}", timeout=2)
    error = raised(client.get_webhook_info)
    assert error.error_code is None and not error.permanent
    assert not leaks(error, token)


def test_no_token_is_a_permanent_error_without_a_request(sim):
    error = raised(TelegramClient(Secret(""), sim.base_url).get_webhook_info)
    assert error.permanent
