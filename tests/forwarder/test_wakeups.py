"""Delivery is driven by commits: a stored update goes out at once, a lost wake-up costs at most
the safety-net poll, and a misbehaving chat holds back only itself."""

from __future__ import annotations

import json
import time
from collections import defaultdict

import requests

from core.storage import DELIVERED, open_store
from tests.helpers.forward_kit import Reply, enqueue, enqueue_silently, states
from tests.helpers.support import SECRET, make_update, wait_until

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
LISTENER = "tgwebhook-forwarder-listen"  # application_name of the LISTEN connection


def arrived(backend, update_id: int):
    return next((r for r in backend.received if r.update_id == update_id), None)


def test_an_acknowledged_update_is_at_the_bot_within_a_second_with_a_30_s_poll(serve, backend):
    served = serve(env={"FORWARD_URL": backend.url, "FORWARD_POLL_SECONDS": 30})
    for update_id in range(1, 5):
        time.sleep(0.5)  # the forwarder is idle, asleep in its 30 s poll
        answer = requests.post(
            f"{served.base_url}/webhook/default",
            data=json.dumps(make_update(update_id, chat_id=7)),
            headers=HEADERS,
            timeout=10,
        )
        acknowledged = time.monotonic()
        assert answer.status_code == 200
        received = wait_until(lambda u=update_id: arrived(backend, u), timeout=35, interval=0.002)
        assert received.at - acknowledged < 1.0, f"update {update_id} waited for a poll"


def test_a_dropped_wake_up_delays_delivery_by_at_most_the_poll(
    queue_store, backend, forward_settings, run_dispatcher
):
    run_dispatcher(forward_settings(forward_poll_seconds=1))
    enqueue(queue_store, 1, 5)
    wait_until(lambda: arrived(backend, 1))
    time.sleep(0.3)
    enqueue_silently(queue_store, 2, 5)
    enqueue_silently(queue_store, 3, 6)
    wait_until(lambda: states(queue_store) == {DELIVERED: 3}, timeout=5, what="poll delivery")
    assert backend.update_ids(5) == [1, 2]


def test_updates_stored_while_no_forwarder_ran_go_out_when_one_starts(
    queue_store, backend, forward_settings, run_dispatcher
):
    for update_id in range(1, 7):
        enqueue(queue_store, update_id, 5 + update_id % 2)  # the wake-ups reach nobody
    run_dispatcher(forward_settings(forward_poll_seconds=30))
    wait_until(lambda: states(queue_store) == {DELIVERED: 6}, timeout=5)
    assert backend.update_ids(5) == [2, 4, 6]


def test_postgres_notifications_wake_the_forwarder_and_a_missed_one_is_made_up_for(
    pg_url, backend, forward_settings, run_dispatcher
):
    store = open_store(pg_url)
    try:
        run_dispatcher(forward_settings(forward_poll_seconds=30), store=store)
        enqueue(store, 1, 5)
        wait_until(lambda: arrived(backend, 1), timeout=5, what="notified delivery")
        # The LISTEN connection dies (a failover, a network blip); an update committed while
        # nobody listens sends its notification into the void.
        with store.write() as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ?",
                (LISTENER,),
            )
        enqueue(store, 2, 5)
        wait_until(lambda: arrived(backend, 2), timeout=10, what="delivery after reconnecting")
        enqueue(store, 3, 6)
        wait_until(lambda: arrived(backend, 3), timeout=5, what="notified delivery again")
    finally:
        store.close()


def test_a_hanging_a_failing_and_a_hanging_up_chat_hold_back_only_themselves(
    queue_store, backend, forward_settings, run_dispatcher
):
    hangs, fails, hangs_up = 1, 2, 3
    bad = {
        hangs: Reply(delay=3.0),  # past the 2 s forward timeout
        fails: Reply(status=500, body=b"handler crashed"),
        hangs_up: Reply(hang_up=True),
    }
    backend.rule = lambda update: bad.get(update["message"]["chat"]["id"], Reply())
    good = range(4, 14)
    for n in range(5):
        for chat in (*bad, *good):
            enqueue(queue_store, 100 * chat + n, chat)
    run_dispatcher(forward_settings(forward_concurrency=8, forward_max_attempts=1000))
    delivered_good = lambda: sum(r.chat_id in good for r in backend.received) == 50  # noqa: E731
    wait_until(delivered_good, timeout=15, what="the well-behaved chats delivered")

    by_chat = defaultdict(list)
    for received in backend.received:
        by_chat[received.chat_id].append(received.update_id)
    for chat in good:
        assert by_chat[chat] == [100 * chat + n for n in range(5)]
    for chat in bad:  # only ever the head was tried
        assert set(by_chat[chat]) == {100 * chat}
    heads = {head.head.chat_key: head.head for head in queue_store.chat_heads(limit=50)}
    assert sorted(heads) == ["1", "2", "3"]
    assert "ConnectionError" in (heads["3"].last_error or "")
    assert (heads["2"].last_error or "").startswith("HTTP 500")
