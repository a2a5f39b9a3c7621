"""Flood shaping through the Bot API proxy, in a real `serve` (2 web workers sharing the flood
state in the store) with the simulator's flood model as Telegram."""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.helpers.proxy_kit import PollStack, poll_stack
from tests.helpers.support import ops_url, scrape, wait_until


def timed(stack: PollStack, method: str, **params) -> tuple[requests.Response, float]:
    started = time.monotonic()
    answer = stack.call(method, **params)
    return answer, time.monotonic() - started


def sends(stack: PollStack, chat_id: int | None = None) -> list[dict]:
    calls = stack.sim.admin.calls(stack.token, method="sendMessage")
    return [c for c in calls if chat_id is None or str(c["params"]["chat_id"]) == str(chat_id)]


def test_a_429_for_one_chat_leaves_other_chats_and_methods_undelayed(sim, serve, token):
    stack = poll_stack(sim, serve, token)
    sim.admin.force_flood(token, chat_id=1, retry_after=3, method="sendMessage")
    held: list = []
    first = threading.Thread(
        target=lambda: held.append(timed(stack, "sendMessage", chat_id=1, text="a"))
    )
    first.start()
    time.sleep(0.5)  # chat 1's 429 has come back by now
    other_chat, took_other = timed(stack, "sendMessage", chat_id=2, text="b")
    other_method, took_method = timed(stack, "sendChatAction", chat_id=1, action="typing")
    first.join(timeout=20)
    assert other_chat.json()["ok"] and took_other < 0.5
    assert other_method.json()["ok"] and took_method < 0.5
    [(answer, took)] = held
    assert answer.json()["ok"] and took >= 2.9  # retried by the proxy once allowed
    delays = ("tgwebhook_botapi_shaping_delay_seconds_count", (("bot", "default"),))
    wait_until(lambda: scrape(ops_url(stack.served)).get(delays) == 1, timeout=5)  # that one


def test_no_send_reaches_telegram_before_the_retry_after_it_gave(sim, serve, token):
    stack = poll_stack(sim, serve, token)
    sim.admin.force_flood(token, chat_id=5, retry_after=2, method="sendMessage")
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(stack.call, "sendMessage", chat_id=5, text="a")
        time.sleep(0.5)  # its 429 is back: the next two come during the block
        others = [pool.submit(stack.call, "sendMessage", chat_id=5, text=t) for t in "bc"]
        answers = [first.result(), *(other.result() for other in others)]
    assert [a.json()["ok"] for a in answers] == [True, True, True]
    calls = sends(stack, 5)
    [flooded] = [c for c in calls if c.get("error_code") == 429]
    later = [c for c in calls if c["time"] > flooded["time"]]
    assert len(later) == 3 and all(c["ok"] for c in later)
    assert min(c["time"] for c in later) >= flooded["time"] + 2 - 0.05
    assert sim.admin.flood(token)["by_reason"] == {"forced": 1}


def test_past_the_bound_the_bot_gets_telegrams_contract_with_the_remaining_retry_after(
    sim, serve, token
):
    stack = poll_stack(sim, serve, token, FLOOD_MAX_WAIT_SECONDS="1")
    sim.admin.force_flood(token, chat_id=7, retry_after=6, method="sendMessage")
    telegrams = stack.call("sendMessage", chat_id=7, text="a")
    assert telegrams.status_code == 429  # Telegram's own answer, passed on as it came
    assert telegrams.json()["parameters"]["retry_after"] == 6
    time.sleep(1.2)
    local = stack.call("sendMessage", chat_id=7, text="b")
    assert local.status_code == 429
    retry_after = local.json()["parameters"]["retry_after"]
    assert retry_after in (4, 5)
    assert local.json() == {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }
    assert local.headers["Retry-After"] == str(retry_after)
    assert len(sends(stack, 7)) == 1  # the second never reached Telegram
    shaped = ("bot", "default"), ("method", "sendMessage"), ("outcome", "shaped")
    flood_wait = ("bot", "default"), ("method", "sendMessage"), ("outcome", "flood_wait")
    expected = {
        ("tgwebhook_botapi_requests_total", shaped): 1,
        ("tgwebhook_botapi_requests_total", flood_wait): 1,
        ("tgwebhook_botapi_flood_wait_seconds_sum", (("bot", "default"),)): 6,
    }
    # counted once the answer is out, so maybe a moment after the bot has it
    wait_until(lambda: expected.items() <= scrape(ops_url(stack.served)).items(), timeout=5)


def test_a_steady_25_sends_per_second_across_1000_chats_get_no_429(sim, serve, token):
    stack = poll_stack(sim, serve, token)
    sim.admin.enable_flood(token)  # Telegram's published limits, short bursts tolerated
    chats = random.Random(15).choices(range(1, 1001), k=100)  # 4 s of traffic
    started = time.monotonic()

    def send(index: int) -> requests.Response:
        time.sleep(max(0.0, started + index / 25 - time.monotonic()))
        return stack.call("sendMessage", chat_id=chats[index], text=str(index))

    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(send, range(len(chats))))
    assert [a.status_code for a in answers] == [200] * 100
    assert sim.admin.flood(token)["answered_429"] == 0
    assert len(sends(stack)) == 100


def test_a_burst_is_spread_to_the_limits_instead_of_refused(sim, serve, token):
    stack = poll_stack(sim, serve, token)
    sim.admin.enable_flood(token)
    with ThreadPoolExecutor(32) as pool:
        answers = list(
            pool.map(lambda i: stack.call("sendMessage", chat_id=i, text="x"), range(1, 61))
        )
        same_chat = list(
            pool.map(lambda i: stack.call("sendMessage", chat_id=99, text="y"), range(5))
        )
    assert all(a.json()["ok"] for a in answers + same_chat)
    assert sim.admin.flood(token)["answered_429"] == 0
    times = sorted(c["time"] for c in sends(stack, 99))
    assert times[-1] - times[0] >= 3 - 0.1  # burst 2, then one a second
    spread = sorted(c["time"] for c in sends(stack) if str(c["params"]["chat_id"]) != "99")
    assert len(spread) == 60
    # burst 10, then 30 a second: 1.67 s from the first booking (unshaped: about 0.2 s, and
    # the simulator's burst of 30 refuses half of them)
    assert spread[-1] - spread[0] >= 1.3


def test_an_upload_is_shaped_by_the_chat_id_in_its_first_part_and_streamed_whole(sim, serve, token):
    stack = poll_stack(sim, serve, token)
    sim.admin.force_flood(token, chat_id=-1009, retry_after=2, method="sendDocument")
    data = os.urandom(3 * 1024 * 1024)
    url = f"{stack.api_base}/bot{token}/sendDocument"

    def upload() -> requests.Response:
        files = {"document": ("a.bin", data)}
        return requests.post(url, data={"chat_id": "-1009"}, files=files, timeout=60)

    flooded = upload()  # an upload is not held, so not retried: Telegram's 429 goes back
    assert flooded.status_code == 429 and flooded.json()["parameters"]["retry_after"] == 2
    assert upload().status_code == 200  # held back by the shaper until the block is over
    first, second = sim.admin.calls(token, method="sendDocument")
    assert second["time"] >= first["time"] + 2 - 0.05
    assert second["files"]["document"] == {
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def test_a_429_without_retry_after_is_passed_on_not_retried(sim, serve, token):
    stack = poll_stack(sim, serve, token)
    raw = '{"ok":false,"error_code":429,"description":"Too Many"}'
    sim.admin.add_fault("sendMessage", token=token, error_code=429, raw_body=raw)
    answer = stack.call("sendMessage", chat_id=3, text="a")
    assert (answer.status_code, answer.text) == (429, raw)
    assert len(sends(stack, 3)) == 1


def test_a_chat_telegram_keeps_refusing_gets_three_sends_then_telegrams_answer(sim, serve, token):
    stack = poll_stack(sim, serve, token)
    sim.admin.add_fault("sendMessage", token=token, error_code=429, retry_after=1)
    answer, took = timed(stack, "sendMessage", chat_id=3, text="a")
    assert answer.status_code == 429 and answer.json()["parameters"]["retry_after"] == 1
    times = [call["time"] for call in sends(stack, 3)]
    assert len(times) == 3 and times[2] - times[0] >= 2 - 0.05 and took < 5
