"""A bot's webhook reply is executed against the Bot API (the simulator), counted and logged."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest

from core.storage import DELIVERED
from tests.helpers.forward_kit import Reply, attempts_metric, enqueue, states
from tests.helpers.support import BOT_TOKEN, wait_until


@pytest.fixture
def reply_settings(forward_settings, sim):
    return lambda **env: forward_settings(bot_token=BOT_TOKEN, api_base=sim.base_url, **env)


def sent_messages(sim) -> list[dict]:
    return [call["params"] for call in sim.admin.calls(BOT_TOKEN, method="sendMessage")]


def json_reply(update: dict) -> Reply:
    call = {"method": "sendMessage", "chat_id": update["message"]["chat"]["id"], "text": "pong"}
    return Reply(body=json.dumps(call).encode(), content_type="application/json")


def test_a_json_reply_is_sent_to_telegram_with_the_bots_token(
    queue_store, backend, reply_settings, run_dispatcher, sim
):
    backend.rule = json_reply
    enqueue(queue_store, 1, 5)
    before = attempts_metric("reply_ok")
    run_dispatcher(reply_settings())
    [message] = wait_until(lambda: sent_messages(sim), timeout=10)
    assert (message["chat_id"], message["text"]) == (5, "pong")
    wait_until(lambda: attempts_metric("reply_ok") == before + 1)


def test_a_form_reply_is_sent_too(queue_store, backend, reply_settings, run_dispatcher, sim):
    backend.rule = lambda u: Reply(
        body=b"method=sendMessage&chat_id=6&text=form",
        content_type="application/x-www-form-urlencoded",
    )
    enqueue(queue_store, 1, 6)
    run_dispatcher(reply_settings())
    [message] = wait_until(lambda: sent_messages(sim), timeout=10)
    assert (str(message["chat_id"]), message["text"]) == ("6", "form")


def test_a_reply_telegram_refuses_is_counted_and_logged_without_the_token(
    queue_store, backend, reply_settings, run_dispatcher, sim, caplog
):
    sim.admin.add_fault("sendMessage", error_code=400, description="Bad Request: chat not found")
    backend.rule = json_reply
    enqueue(queue_store, 1, 5)
    before = attempts_metric("reply_failed")
    with caplog.at_level(logging.WARNING, logger="forwarder"):
        run_dispatcher(reply_settings())
        wait_until(lambda: attempts_metric("reply_failed") == before + 1, timeout=10)
        # counted, then logged, on the dispatcher's thread
        wait_until(lambda: "chat not found" in caplog.text, what="the refusal logged")
    assert states(queue_store) == {DELIVERED: 1}  # the update itself was delivered
    assert BOT_TOKEN.split(":")[1] not in caplog.text


def test_a_reply_with_a_file_upload_reaches_telegram_byte_for_byte(
    queue_store, backend, reply_settings, run_dispatcher, sim
):
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # binary, CRLFs and all
    body = (
        b'--b\r\nContent-Disposition: form-data; name="method"\r\n\r\nsendPhoto\r\n'
        b'--b\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n5\r\n'
        b'--b\r\nContent-Disposition: form-data; name="caption"\r\n\r\nnew cat\r\n'
        b'--b\r\nContent-Disposition: form-data; name="photo"; filename="cat.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + picture + b"\r\n--b--\r\n"
    )
    backend.rule = lambda u: Reply(body=body, content_type="multipart/form-data; boundary=b")
    enqueue(queue_store, 1, 5)
    before = attempts_metric("reply_ok")
    run_dispatcher(reply_settings())
    [call] = wait_until(lambda: sim.admin.calls(BOT_TOKEN, method="sendPhoto"), timeout=10)
    assert call["ok"] and call["params"]["chat_id"] in (5, "5")
    assert call["params"]["caption"] == "new cat"
    assert call["files"] == {
        "photo": {"size": len(picture), "sha256": hashlib.sha256(picture).hexdigest()}
    }
    wait_until(lambda: attempts_metric("reply_ok") == before + 1, what="the reply counted")


def test_a_reply_holds_the_chat_until_it_was_sent(
    queue_store, backend, reply_settings, run_dispatcher, sim
):
    sim.admin.add_fault("sendMessage", delay=0.5, times=1)
    backend.rule = json_reply
    enqueue(queue_store, 1, 5)
    enqueue(queue_store, 2, 5)
    run_dispatcher(reply_settings())
    wait_until(lambda: len(sent_messages(sim)) == 2, timeout=10)
    first, second = backend.received
    assert (first.update_id, second.update_id) == (1, 2)
    assert second.at > first.at + 0.45  # update 2 waited for the slow reply to update 1
