"""Bot API conformance over real HTTP: envelopes, tokens, setWebhook rules, methods, faults."""

from __future__ import annotations

import time

import pytest
import requests

from simulator import make_token

BAD_WEBHOOK = "Bad Request: bad webhook: "


def test_get_me_answers_a_bot_user_in_the_ok_envelope(api, token):
    body = api("getMe")
    assert body["ok"] is True and set(body) == {"ok", "result"}
    me = body["result"]
    assert me["id"] == int(token.split(":")[0])
    assert me["is_bot"] is True
    assert me["username"] == f"sim_{me['id']}_bot"


@pytest.mark.parametrize("method", ["getMe", "getme", "GETME", "gEtMe"])
def test_method_names_are_case_insensitive(api, method):
    assert api(method)["ok"] is True


def test_unknown_method_is_404_not_found(api):
    assert api.raw("getEverything") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )


@pytest.mark.parametrize("bad", ["123", "123:abc", "abc:" + "A" * 35, "0:" + "A" * 35])
def test_malformed_token_is_401_unauthorized(sim, bad):
    resp = requests.get(f"{sim.base_url}/bot{bad}/getMe", timeout=10)
    assert resp.status_code == 401
    assert resp.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_revoked_token_is_401_until_unrevoked(sim, api, token):
    sim.admin.revoke(token)
    assert api.raw("getWebhookInfo") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    sim.admin.unrevoke(token)
    assert api("getWebhookInfo")["ok"] is True


@pytest.mark.parametrize("encoding", ["query", "json", "form", "multipart"])
def test_parameters_are_accepted_in_every_encoding(sim, token, encoding):
    url = sim.api_url(token, "sendMessage")
    params = {"chat_id": "42", "text": "hi there"}
    send = {
        "query": lambda: requests.get(url, params=params, timeout=10),
        "json": lambda: requests.post(url, json=params, timeout=10),
        "form": lambda: requests.post(url, data=params, timeout=10),
        "multipart": lambda: requests.post(
            url, files={k: (None, v) for k, v in params.items()}, timeout=10
        ),
    }[encoding]
    result = send().json()["result"]
    assert (result["chat"]["id"], result["text"]) == (42, "hi there")


def test_send_message_returns_realistic_messages_with_increasing_ids(api, token):
    first = api("sendMessage", chat_id=5, text="one")["result"]
    second = api("sendMessage", chat_id=5, text="two")["result"]
    assert second["message_id"] == first["message_id"] + 1
    assert first["from"]["id"] == int(token.split(":")[0]) and first["from"]["is_bot"]
    assert first["chat"] == {"id": 5, **{k: first["chat"][k] for k in first["chat"] if k != "id"}}
    assert first["chat"]["type"] == "private"
    assert abs(first["date"] - time.time()) < 5


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"text": "x"}, "Bad Request: chat_id is empty"),
        ({"chat_id": 5}, "Bad Request: message text is empty"),
        ({"chat_id": "@nobody", "text": "x"}, "Bad Request: chat not found"),
        ({"chat_id": 5, "text": "x" * 4097}, "Bad Request: message is too long"),
    ],
)
def test_send_message_errors_use_telegram_texts(api, params, description):
    status, body = api.raw("sendMessage", **params)
    assert (status, body) == (400, {"ok": False, "error_code": 400, "description": description})


def test_send_document_takes_an_upload_and_reports_what_arrived(sim, api, token):
    data = b"%PDF-1.4\r\n" + bytes(range(256))
    answer = requests.post(
        sim.api_url(token, "sendDocument"),
        timeout=10,
        data={"chat_id": "5", "caption": "report"},
        files={"document": ("r.pdf", data, "application/pdf")},
    ).json()
    sent = answer["result"]
    assert sent["document"]["file_size"] == len(data) and sent["caption"] == "report"
    assert "text" not in sent and sent["chat"]["id"] == 5
    [call] = sim.admin.calls(token, method="sendDocument")
    assert call["files"]["document"]["size"] == len(data)


@pytest.mark.parametrize("method", ["sendDocument", "sendPhoto"])
def test_a_send_without_its_file_is_a_bad_request_and_a_file_id_will_do(api, method):
    field = method.removeprefix("send").lower()
    status, body = api.raw(method, chat_id=5)
    assert (status, body["description"]) == (
        400,
        f"Bad Request: there is no {field} in the request",
    )
    assert api(method, chat_id=5, **{field: "AgACAgIAAxkBAAI"})["ok"]
    status, body = api.raw(method, chat_id=5, **{field: "attach://no-such-part"})
    assert (status, body["description"]) == (
        400,
        "Bad Request: wrong file identifier/HTTP URL specified",
    )


def test_small_methods_answer_true(api):
    assert api("sendChatAction", chat_id=5, action="typing")["result"] is True
    assert api("answerCallbackQuery", callback_query_id="123456789")["result"] is True
    assert api.raw("answerCallbackQuery")[0] == 400


# -- setWebhook ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "description"),
    [
        (
            {"url": "http://bot.example.com/hook"},
            BAD_WEBHOOK + "An HTTPS URL must be provided for webhook",
        ),
        (
            {"url": "https://bot.example.com:8080/hook"},
            BAD_WEBHOOK + "Webhook can be set up only on ports 80, 88, 443 or 8443",
        ),
        (
            {"url": "https://bot.example.com/hook", "secret_token": "has space"},
            "Bad Request: secret token contains unallowed characters",
        ),
        (
            {"url": "https://bot.example.com/hook", "secret_token": "é"},
            "Bad Request: secret token contains unallowed characters",
        ),
        (
            {"url": "https://bot.example.com/hook", "secret_token": "a" * 257},
            "Bad Request: secret token is too long",
        ),
        ({"url": "ftp://bot.example.com/hook"}, "Bad Request: invalid webhook URL specified"),
        (
            {"url": "https://no-such-host.invalid/hook"},
            BAD_WEBHOOK + "Failed to resolve host: Name or service not known",
        ),
        ({"url": "https://127.0.0.1/hook"}, BAD_WEBHOOK + "IP address 127.0.0.1 is reserved"),
        (
            {"url": "https://bot.example.com/hook", "ip_address": "192.168.1.5"},
            BAD_WEBHOOK + "IP address 192.168.1.5 is reserved",
        ),
    ],
)
def test_set_webhook_validation_errors_match_telegram(make_sim, make_api, params, description):
    api = make_api(make_sim(local=False), make_token(1))
    status, body = api.raw("setWebhook", **params)
    assert (status, body) == (400, {"ok": False, "error_code": 400, "description": description})


@pytest.mark.parametrize(
    "params",
    [
        {"url": "https://bot.example.com/hook", "ip_address": "149.154.167.220"},
        {
            "url": "https://bot.example.com:8443/x",
            "ip_address": "149.154.167.220",
            "secret_token": "A-z_9",
        },
        {"url": "bot.example.com:88", "ip_address": "149.154.167.220", "secret_token": "s" * 256},
    ],
)
def test_valid_public_webhooks_are_set(make_sim, make_api, params):
    api = make_api(make_sim(local=False), make_token(1))
    assert api("setWebhook", **params) == {
        "ok": True,
        "result": True,
        "description": "Webhook was set",
    }
    info = api("getWebhookInfo")["result"]
    assert info["url"] == params["url"] and info["ip_address"] == "149.154.167.220"


def test_local_mode_allows_http_on_any_port(api, closed_port_url):
    assert api("setWebhook", url=closed_port_url)["description"] == "Webhook was set"


def test_same_webhook_again_is_already_set(api):
    assert api("setWebhook", url="http://127.0.0.1:9/a")["description"] == "Webhook was set"
    time.sleep(0.02)  # past the (scaled) one-per-second setWebhook limit
    assert api("setWebhook", url="http://127.0.0.1:9/a")["description"] == "Webhook is already set"


def test_set_webhook_is_limited_to_one_call_per_second(make_sim, make_api):
    api = make_api(make_sim(time_factor=1.0), make_token(1))
    assert api("setWebhook", url="http://127.0.0.1:9/a")["ok"] is True
    assert api.raw("setWebhook", url="http://127.0.0.1:9/b") == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )
    assert api("deleteWebhook")["ok"] is True  # deleting is never limited


def test_a_rejected_set_webhook_removes_the_current_webhook(api, closed_port_url):
    api("setWebhook", url=closed_port_url)
    time.sleep(0.02)  # past the (scaled) one-per-second setWebhook limit
    assert api.raw("setWebhook", url=closed_port_url + "x", secret_token="no way")[0] == 400
    assert api("getWebhookInfo")["result"]["url"] == ""


def test_delete_webhook_texts(api, closed_port_url):
    assert api("deleteWebhook")["description"] == "Webhook is already deleted"
    api("setWebhook", url=closed_port_url)
    assert api("deleteWebhook") == {
        "ok": True,
        "result": True,
        "description": "Webhook was deleted",
    }
    assert api("setWebhook", url="")["description"] == "Webhook is already deleted"


def test_webhook_info_omits_empty_optional_fields(api, closed_port_url):
    assert api("getWebhookInfo")["result"] == {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": 0,
    }
    api("setWebhook", url=closed_port_url, max_connections=7, allowed_updates=["message"])
    info = api("getWebhookInfo")["result"]
    assert list(info) == [
        "url",
        "has_custom_certificate",
        "pending_update_count",
        "max_connections",
        "ip_address",
        "allowed_updates",
    ]
    assert (info["max_connections"], info["ip_address"], info["allowed_updates"]) == (
        7,
        "127.0.0.1",
        ["message"],
    )


def test_allowed_updates_filter_what_telegram_creates(sim, api, token, closed_port_url):
    api("setWebhook", url=closed_port_url, allowed_updates=["callback_query"])
    assert sim.admin.inject(token, text="dropped", chat_id=5) == []
    assert len(sim.admin.inject(token, data="kept", chat_id=5)) == 1


def test_get_updates_conflicts_while_a_webhook_is_set(api, closed_port_url):
    api("setWebhook", url=closed_port_url)
    assert api.raw("getUpdates") == (
        409,
        {
            "ok": False,
            "error_code": 409,
            "description": "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        },
    )


def test_get_updates_returns_and_confirms_pending_updates(sim, api, token):
    first, second = sim.admin.inject(
        token, {"text": "a", "chat_id": 1}, {"text": "b", "chat_id": 2}
    )
    assert api("getUpdates")["result"] == [first, second]
    assert api("getUpdates", offset=second["update_id"])["result"] == [second]
    assert api("getUpdates", offset=second["update_id"] + 1, timeout=0)["result"] == []


# -- faults -------------------------------------------------------------------------------


def test_429_fault_carries_retry_after_then_clears(sim, api, token):
    sim.admin.add_fault("sendMessage", token=token, error_code=429, retry_after=3, times=2)
    expected = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert api.raw("sendMessage", chat_id=1, text="x") == (429, expected)
    assert api.raw("sendMessage", chat_id=1, text="x") == (429, expected)
    assert api("sendMessage", chat_id=1, text="x")["ok"] is True
    assert api("getMe")["ok"] is True


def test_401_fault_on_get_webhook_info_only(sim, api):
    sim.admin.add_fault("getWebhookInfo", error_code=401, description="Unauthorized")
    assert api.raw("getWebhookInfo")[0] == 401
    assert api("getMe")["ok"] is True


def test_generic_failure_of_any_method_n_times(sim, api):
    sim.admin.add_fault("*", error_code=500, times=2)
    assert api.raw("getMe")[1]["description"] == "Internal Server Error"
    assert api.raw("sendMessage", chat_id=1, text="x")[0] == 500
    assert api.raw("getMe")[0] == 200


def test_delay_fault_slows_the_bot_api(sim, api):
    sim.admin.add_fault("getMe", delay=0.3)
    started = time.monotonic()
    assert api("getMe")["ok"] is True
    assert time.monotonic() - started >= 0.3


def test_disconnect_and_raw_502_faults(sim, api):
    sim.admin.add_fault("getMe", disconnect=True, times=1)
    with pytest.raises(requests.ConnectionError):
        api.raw("getMe")
    sim.admin.add_fault("getMe", error_code=502, raw_body="<html>502 Bad Gateway</html>", times=1)
    resp = requests.get(sim.api_url(api.token, "getMe"), timeout=10)
    assert (resp.status_code, resp.headers["Content-Type"].split(";")[0]) == (502, "text/html")
    sim.admin.clear_faults()
    assert api("getMe")["ok"] is True


def test_calls_are_recorded_with_params_and_can_be_filtered(sim, api, token):
    api("getMe")
    api("sendMessage", chat_id=9, text="hello")
    sent = sim.admin.calls(token, method="sendMessage")
    assert [(c["method"], c["params"], c["source"], c["ok"]) for c in sent] == [
        ("sendMessage", {"chat_id": 9, "text": "hello"}, "http", True)
    ]
    assert [c["method"] for c in sim.admin.calls(token)] == ["getMe", "sendMessage"]
