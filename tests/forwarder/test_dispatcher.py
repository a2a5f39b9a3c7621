"""The delivery loop against a real local bot backend: format, order, retries, dead letters."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

from core.storage import DEAD, DELIVERED, IncomingUpdate
from tests.helpers.forward_kit import Reply, attempts_metric, enqueue, states
from tests.helpers.support import wait_until


def test_an_update_reaches_the_bot_exactly_as_telegram_sends_it(
    queue_store, backend, forward_settings, run_dispatcher
):
    raw = (
        b'{"update_id": 41,  "message": {"message_id": 1, "date": 1,'
        b' "chat": {"id": 5, "type": "private"}, "text": "\\u00e9"}}'
    )
    queue_store.record_update(
        IncomingUpdate("default", 41, "message", "5", raw, time.time(), True), forward=True
    )
    before = attempts_metric("delivered")
    run_dispatcher(forward_settings())
    [received] = wait_until(lambda: backend.received)
    assert received.body == raw  # byte for byte, not re-serialised
    assert received.content_type == "application/json"
    assert received.secret == "fwd-secret"
    wait_until(lambda: states(queue_store) == {DELIVERED: 1})
    # stored first, counted after: a crash in between under-counts, never loses the update
    wait_until(lambda: attempts_metric("delivered") == before + 1, what="delivery counted")


def test_each_chat_is_delivered_in_order_while_a_slow_and_a_failing_chat_hold_only_themselves(
    queue_store, backend, forward_settings, run_dispatcher
):
    slow, failing, normal = 1, 2, range(3, 9)
    tries: dict[int, int] = defaultdict(int)
    in_chat: dict[int, int] = defaultdict(int)
    overlap: list[int] = []
    peak = [0]
    lock = threading.Lock()

    def rule(update: dict) -> Reply:
        chat, uid = update["message"]["chat"]["id"], update["update_id"]
        with lock:
            tries[uid] += 1
            in_chat[chat] += 1
            if in_chat[chat] > 1:
                overlap.append(chat)
            peak[0] = max(peak[0], sum(in_chat.values()))
        time.sleep(0.15 if chat == slow else 0.01)
        with lock:
            in_chat[chat] -= 1
        if chat == failing and tries[uid] <= 2:
            return Reply(status=500, body=b"boom")
        return Reply()

    backend.rule = rule
    chats = [slow, failing, *normal]
    for n in range(8 * len(chats)):
        enqueue(queue_store, 1000 + n, chats[n % len(chats)])
    run_dispatcher(forward_settings(forward_concurrency=4))
    wait_until(lambda: states(queue_store) == {DELIVERED: 64}, timeout=30)

    by_chat = defaultdict(list)
    for r in backend.received:
        by_chat[r.chat_id].append(r.update_id)
    for chat in normal:
        assert by_chat[chat] == sorted(by_chat[chat]) and len(by_chat[chat]) == 8
    assert by_chat[failing] == [u for u in sorted(set(by_chat[failing])) for _ in range(3)]
    assert overlap == []  # never two updates of one chat in flight
    assert 2 <= peak[0] <= 4  # chats in parallel, up to forward_concurrency
    finish = {chat: max(r.at for r in backend.received if r.chat_id == chat) for chat in chats}
    assert max(finish[c] for c in normal) < finish[slow]  # the slow chat did not hold the others


def test_the_bots_retry_after_is_honoured(queue_store, backend, forward_settings, run_dispatcher):
    answers = iter([Reply(429, b"slow down", headers={"Retry-After": "1"})])
    backend.rule = lambda update: next(answers, Reply())
    enqueue(queue_store, 1, 5)
    run_dispatcher(forward_settings())
    first, second = wait_until(lambda: backend.received[:2] if len(backend.received) > 1 else None)
    assert second.at - first.at >= 0.95  # the backoff alone would have waited <= 0.2 s


def test_an_update_becomes_a_dead_letter_after_its_attempts_and_the_chat_moves_on(
    queue_store, backend, forward_settings, run_dispatcher
):
    backend.rule = lambda u: Reply(503) if u["update_id"] == 1 else Reply()
    enqueue(queue_store, 1, 5)
    enqueue(queue_store, 2, 5)
    dead_before, retry_before = attempts_metric("dead"), attempts_metric("retry")
    run_dispatcher(forward_settings(forward_max_attempts=3))
    wait_until(lambda: states(queue_store) == {DEAD: 1, DELIVERED: 1}, timeout=15)
    assert backend.update_ids() == [1, 1, 1, 2]
    [letter] = queue_store.dead_letters()
    assert (letter.update_id, letter.attempts, letter.last_error) == (1, 3, "HTTP 503")
    wait_until(lambda: attempts_metric("dead") == dead_before + 1, what="dead letter counted")
    assert attempts_metric("retry") == retry_before + 2


def test_a_bot_down_in_every_chat_makes_no_dead_letters_and_keeps_each_chat_in_order(
    queue_store, backend, forward_settings, run_dispatcher
):
    backend.rule = lambda u: Reply(503)
    for update_id, chat in ((1, 5), (2, 6), (3, 5), (4, 6)):
        enqueue(queue_store, update_id, chat)
    run_dispatcher(forward_settings(forward_max_attempts=3))
    # Well past three attempts per head, and nothing is given up while the bot is down.
    wait_until(lambda: len(backend.received) >= 12, timeout=20, what="heads retried")
    assert DEAD not in states(queue_store)
    backend.rule = lambda u: Reply()
    wait_until(lambda: states(queue_store) == {DELIVERED: 4}, timeout=20)
    firsts = [r.update_id for r in backend.received if r.update_id in (1, 3)]
    assert firsts.index(3) > max(i for i, uid in enumerate(firsts) if uid == 1)


def test_an_update_older_than_the_age_budget_gets_one_attempt_then_dies(
    queue_store, backend, forward_settings, run_dispatcher
):
    backend.rule = lambda update: Reply(500)
    enqueue(queue_store, 1, 5, received_at=time.time() - 7200)
    run_dispatcher(forward_settings(forward_max_age_hours=1))
    wait_until(lambda: states(queue_store) == {DEAD: 1})
    assert backend.update_ids() == [1]


def test_an_unreachable_bot_is_recorded_without_the_forward_url(
    queue_store, backend, forward_settings, run_dispatcher
):
    backend.down()
    enqueue(queue_store, 1, 5)
    run_dispatcher(forward_settings(forward_max_attempts=1))
    wait_until(lambda: queue_store.dead_letters())
    [letter] = queue_store.dead_letters()
    assert letter.last_error.startswith("ConnectionError")
    assert "secret-path" not in letter.last_error


def test_bots_without_a_forward_url_are_left_alone(
    queue_store, backend, make_settings, run_dispatcher
):
    enqueue(queue_store, 1, 5, forward=False)
    dispatcher = run_dispatcher(make_settings())
    time.sleep(0.3)
    assert dispatcher.bots == []
    assert backend.received == []
    assert json.loads(queue_store.get_update("default", 1)["body"])["update_id"] == 1


def test_several_bots_are_forwarded_each_with_its_own_url_and_secret(
    queue_store, backend, make_settings, run_dispatcher, tmp_path
):
    config = tmp_path / "bots.toml"
    config.write_text(f"""
[bots.alpha]
secret_token = "tg-alpha"
forward_url = "{backend.url}?bot=alpha"
forward_secret_token = "fwd-alpha"

[bots.beta]
secret_token = "tg-beta"
forward_url = "{backend.url}?bot=beta"
forward_secret_token = "fwd-beta"

[bots.gamma]
secret_token = "tg-gamma"
""")
    for bot, update_id in (("alpha", 1), ("beta", 2), ("gamma", 3)):
        enqueue(queue_store, update_id, 5, bot=bot, forward=bot != "gamma")
    dispatcher = run_dispatcher(make_settings(config=config))
    wait_until(lambda: states(queue_store) == {DELIVERED: 2, "stored": 1})
    assert sorted(dispatcher.bots) == ["alpha", "beta"]
    assert sorted((r.update_id, r.secret) for r in backend.received) == [
        (1, "fwd-alpha"),
        (2, "fwd-beta"),
    ]
