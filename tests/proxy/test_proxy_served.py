"""The Bot API proxy in a real `serve` (gunicorn, 2 workers) with the simulator as Telegram."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import requests

from tests.helpers.proxy_kit import poll_stack, text_message
from tests.helpers.support import ops_url, wait_until


def test_updates_reach_get_updates_and_an_offset_confirms_them(sim, serve, token):
    stack = poll_stack(sim, serve, token)
    sent = stack.inject(text_message(1, "a"), text_message(2, "b"))
    ids = [u["update_id"] for u in sent]
    wait_until(lambda: stack.call("getWebhookInfo").json()["result"]["pending_update_count"] == 2)
    got = stack.call("getUpdates").json()["result"]
    assert [u["update_id"] for u in got] == ids
    assert stack.call("getUpdates", offset=ids[-1] + 1).json() == {"ok": True, "result": []}
    assert stack.call("getWebhookInfo").json()["result"]["pending_update_count"] == 0


def test_a_parked_poll_answers_as_soon_as_an_update_is_committed(sim, serve, token):
    stack = poll_stack(sim, serve, token)
    answers = []
    poll = threading.Thread(target=lambda: answers.append(stack.call("getUpdates", timeout=20)))
    poll.start()
    time.sleep(0.5)
    started = time.monotonic()
    stack.inject(text_message(7, "hello"))
    poll.join(timeout=25)
    assert time.monotonic() - started < 2
    assert answers[0].json()["result"][0]["message"]["text"] == "hello"


def test_a_second_poll_ends_the_first_with_409(sim, serve, token):
    stack = poll_stack(sim, serve, token)
    answers = []
    first = threading.Thread(target=lambda: answers.append(stack.call("getUpdates", timeout=20)))
    first.start()
    time.sleep(0.5)
    second = stack.call("getUpdates", timeout=1, offset=5)
    first.join(timeout=25)
    assert second.json() == {"ok": True, "result": []}
    assert answers[0].status_code == 409
    assert answers[0].json()["description"].startswith("Conflict: terminated by other getUpdates")


def test_start_up_calls_are_answered_locally_and_never_reach_telegram(sim, serve, token):
    stack = poll_stack(sim, serve, token)
    sim.admin.clear_calls(token)
    assert stack.call("deleteWebhook", drop_pending_updates=True).json()["ok"]
    assert stack.call("setWebhook", url="https://elsewhere.example/x").json()["ok"]
    assert stack.call("logOut").json() == {"ok": True, "result": True}
    assert stack.call("close").json() == {"ok": True, "result": True}
    assert stack.call("getMe").json()["result"]["is_bot"] is True
    # The appliance's own monitor polls getWebhookInfo with the same token whenever it likes.
    calls = [c["method"] for c in sim.admin.calls(token) if c["method"] != "getWebhookInfo"]
    assert calls == ["getMe"]
    assert sim.admin.webhook_info(token)["url"].endswith("/webhook/default")


def test_other_methods_pass_through_byte_for_byte_and_unknown_tokens_get_401(sim, serve, token):
    stack = poll_stack(sim, serve, token)
    sent = stack.call("sendMessage", chat_id=5, text="hi")
    assert sent.status_code == 200 and sent.json()["result"]["text"] == "hi"
    unknown = stack.call("noSuchMethod")
    direct = requests.post(sim.api_url(token, "noSuchMethod"), json={}, timeout=10)
    assert (unknown.status_code, unknown.content) == (direct.status_code, direct.content)
    other = requests.post(f"{stack.api_base}/bot123:{'A' * 35}/getMe", timeout=10)
    assert other.status_code == 401
    assert other.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    # At the default level a proxied call leaves no log line (httpx logs each at INFO).
    assert "HTTP Request:" not in stack.served.output()


def test_a_bot_with_a_forward_url_is_told_its_webhook_is_active(sim, serve, token):
    stack = poll_stack(sim, serve, token, FORWARD_URL="http://127.0.0.1:9/hook")
    answer = stack.call("getUpdates")
    assert answer.status_code == 409
    assert answer.json()["description"].startswith("Conflict: can't use getUpdates method")


def test_the_token_never_appears_in_logs_metrics_or_error_bodies(sim, serve, token):
    canary = "7000000099:CANARY" + "x" * 30
    served = serve({"BOT_TOKEN": canary, "API_BASE": "http://127.0.0.1:9", "LOG_LEVEL": "DEBUG"})
    base = f"{ops_url(served)}/bot{canary}"
    answers = [
        requests.post(f"{base}/sendMessage", json={"chat_id": 1, "text": "x"}, timeout=30),
        requests.post(f"{base}/deleteWebhook", json={"drop_pending_updates": True}, timeout=10),
        requests.get(f"{ops_url(served)}/file/bot{canary}/photos/1.jpg", timeout=30),
        requests.post(f"{base}/getUpdates", data=b"{not json", timeout=10),
    ]
    assert answers[0].status_code == 502  # connection refused, retried, then Bad Gateway
    metrics = requests.get(f"{ops_url(served)}/metrics", timeout=10).text
    served.stop()
    secret_part = canary.split(":")[1]
    for text in [served.output(), metrics, *(a.text for a in answers)]:
        assert secret_part not in text


def test_a_multipart_upload_streams_through_and_a_file_path_is_passed_on(sim, serve, token):
    stack = poll_stack(sim, serve, token)
    data = os.urandom(5 * 1024 * 1024)
    url = f"{stack.api_base}/bot{token}/sendDocument"
    files = {"document": ("blob.bin", data, "application/octet-stream")}
    answer = requests.post(url, data={"chat_id": "9"}, files=files, timeout=60)
    assert answer.status_code == 200, answer.text
    recorded = sim.admin.calls(token, method="sendDocument")[-1]["files"]["document"]
    assert recorded == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    through = requests.get(f"{stack.api_base}/file/bot{token}/documents/1.bin", timeout=10)
    direct = requests.get(f"{sim.base_url}/file/bot{token}/documents/1.bin", timeout=10)
    assert (through.status_code, through.content) == (direct.status_code, direct.content)


def test_method_names_are_case_insensitive_and_409s_are_paced_3_s_apart(sim, serve, token):
    stack = poll_stack(sim, serve, token)
    assert stack.call("GETUPDATES").json() == {"ok": True, "result": []}
    ended: dict[str, tuple[int, float]] = {}

    def poll(name: str, offset: int) -> None:
        answer = stack.call("getUpdates", timeout=20, offset=offset)
        ended[name] = (answer.status_code, time.monotonic())

    threads = []
    for index, name in enumerate(("first", "second", "third")):
        threads.append(threading.Thread(target=poll, args=(name, index + 1)))
        threads[-1].start()
        time.sleep(0.5)
    started = time.monotonic()
    stack.inject(text_message(3, "end"))
    for thread in threads:
        thread.join(timeout=30)
    assert ended["first"][0] == ended["second"][0] == 409
    assert ended["third"][0] == 200 and ended["third"][1] - started < 2
    assert ended["second"][1] - ended["first"][1] >= 2.5  # one immediate 409 per 3 s


def test_the_bot_token_not_the_ops_token_opens_the_proxy_paths(sim, serve, token):
    served = serve({"BOT_TOKEN": token, "API_BASE": sim.base_url, "OPS_TOKEN": "ops-token-1234"})
    base = ops_url(served)
    assert requests.get(f"{base}/metrics", timeout=10).status_code == 401
    assert requests.get(f"{base}/bot{token}/getMe", timeout=10).json()["ok"] is True
    assert requests.get(f"{base}/bot{token[:-1]}X/getMe", timeout=10).status_code == 401
