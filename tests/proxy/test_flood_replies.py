"""The forwarder's webhook replies go through the proxy's limiter (core/flood.py, state in the
store): a real `serve` forwarding to a bot backend that answers every update with a reply."""

from __future__ import annotations

import json

from tests.helpers.forward_kit import BotBackend, Reply
from tests.helpers.live_stack import set_webhook
from tests.helpers.proxy_kit import text_message
from tests.helpers.support import SECRET, ops_url, scrape, wait_until


def pong(update: dict) -> Reply:
    call = {"method": "sendMessage", "chat_id": update["message"]["chat"]["id"], "text": "pong"}
    return Reply(body=json.dumps(call).encode(), content_type="application/json")


def start(sim, serve, token, **env):
    backend = BotBackend()
    backend.rule = pong
    served = serve(
        {"BOT_TOKEN": token, "API_BASE": sim.base_url, "FORWARD_URL": backend.url, **env}
    )
    set_webhook(sim, token, served.base_url + "/webhook/default", SECRET)
    return backend, served


def replies(sim, token) -> list[dict]:
    return sim.admin.calls(token, method="sendMessage")


def test_replies_to_one_chat_are_spread_to_its_limit(sim, serve, token):
    backend, _ = start(sim, serve, token)
    try:
        sim.admin.enable_flood(token)
        sim.admin.inject(token, *(text_message(42, str(i)) for i in range(5)))
        wait_until(lambda: len(replies(sim, token)) == 5, timeout=20)
    finally:
        backend.down()
    times = [call["time"] for call in replies(sim, token)]
    assert all(call["ok"] for call in replies(sim, token))
    assert times[-1] - times[0] >= 3 - 0.1  # burst 2, then one a second
    assert sim.admin.flood(token)["answered_429"] == 0


def test_a_reply_that_would_wait_past_the_bound_fails_without_reaching_telegram(sim, serve, token):
    backend, served = start(sim, serve, token, FLOOD_MAX_WAIT_SECONDS="1")
    try:
        sim.admin.force_flood(token, chat_id=42, retry_after=30, method="sendMessage")
        sim.admin.inject(token, text_message(42, "a"))
        wait_until(lambda: replies(sim, token), timeout=10)  # answered 429 retry_after 30
        sim.admin.inject(token, text_message(42, "b"))
        wait_until(lambda: len(backend.received) == 2, timeout=10)
        sendmessage = ("bot", "default"), ("method", "sendMessage")
        expected = {
            (
                "tgwebhook_forward_attempts_total",
                (("bot", "default"), ("result", "reply_failed")),
            ): 2,
            ("tgwebhook_botapi_requests_total", (*sendmessage, ("outcome", "flood_wait"))): 1,
            ("tgwebhook_botapi_requests_total", (*sendmessage, ("outcome", "shaped"))): 1,
            ("tgwebhook_botapi_request_duration_seconds_count", sendmessage): 2,
        }
        wait_until(lambda: expected.items() <= scrape(ops_url(served)).items(), timeout=10)
    finally:
        backend.down()
    assert [call.get("error_code") for call in replies(sim, token)] == [429]
