"""The forwarder as a process: under `serve`, killed with -9, stopped with SIGTERM, idle."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.helpers.forward_kit import Reply, queue_depth
from tests.helpers.support import ROOT, SECRET, make_update, wait_until

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
FAST = {
    "FORWARD_TIMEOUT_SECONDS": 1,
    "HTTP_TIMEOUT_SECONDS": 1,
    "FORWARD_BACKOFF_CAP_SECONDS": 0.3,
    "FORWARD_CONCURRENCY": 8,
}


def post_chats(base_url: str, chats: int, per_chat: int, first_id: int = 1000) -> list[dict]:
    """Telegram-like: chats concurrently, each chat's updates one after another."""

    def one_chat(chat: int) -> list[dict]:
        sent = []
        with requests.Session() as session:
            for n in range(per_chat):
                update = make_update(first_id + n * chats + chat, chat_id=chat)
                answer = session.post(
                    f"{base_url}/webhook/default",
                    data=json.dumps(update),
                    headers=HEADERS,
                    timeout=10,
                )
                assert answer.status_code == 200
                sent.append(update)
        return sent

    with ThreadPoolExecutor(max_workers=chats) as pool:
        return [u for batch in pool.map(one_chat, range(1, chats + 1)) for u in batch]


def db_states(db) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT state, COUNT(*) FROM updates GROUP BY state"))


def first_deliveries_in_order(backend, sent: list[dict]) -> None:
    """Every update arrived; per chat, in order (an immediate re-delivery aside)."""
    by_chat = defaultdict(list)
    for received in backend.received:
        if not by_chat[received.chat_id] or by_chat[received.chat_id][-1] != received.update_id:
            by_chat[received.chat_id].append(received.update_id)
    expected = defaultdict(list)
    for update in sent:
        expected[update["message"]["chat"]["id"]].append(update["update_id"])
    assert dict(by_chat) == dict(expected)


def start_forwarder(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "forwarder"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_bot_down_then_back_loses_nothing_and_the_queue_depth_rises_and_falls(serve, backend):
    # Heads retry every 0.3 s while the bot is down: no dead letters however long the posting
    # takes, and a timeout no slow answer from the in-process bot can hit (it would re-deliver).
    served = serve(
        env={
            "FORWARD_URL": backend.url,
            **FAST,
            "FORWARD_MAX_ATTEMPTS": 1000,
            "FORWARD_TIMEOUT_SECONDS": 5,
        }
    )
    sent = post_chats(served.base_url, chats=6, per_chat=3)
    wait_until(lambda: db_states(served.db) == {"delivered": 18})
    backend.down()
    sent += post_chats(served.base_url, chats=6, per_chat=10, first_id=2000)
    wait_until(lambda: queue_depth(served.base_url) == 60)
    backend.up()
    wait_until(lambda: db_states(served.db) == {"delivered": 78}, timeout=30)
    assert queue_depth(served.base_url) == 0
    first_deliveries_in_order(backend, sent)
    assert len(backend.received) == 78  # refused and dropped requests never reached the bot


def test_a_killed_forwarder_loses_nothing_and_duplicates_only_what_was_in_flight(serve, backend):
    backend.rule = lambda update: Reply(delay=0.1)
    served = serve(env={"FORWARD_URL": backend.url, **FAST}, command=("serve", "--no-forwarder"))
    sent = post_chats(served.base_url, chats=8, per_chat=25)
    forwarder = start_forwarder(served.env)
    try:
        wait_until(lambda: len(backend.received) >= 40, timeout=20, interval=0.005)
        forwarder.send_signal(signal.SIGKILL)
        forwarder.wait(timeout=5)
        in_flight = db_states(served.db).get("delivering", 0)
        forwarder = start_forwarder(served.env)
        # The dead process's leases expire (2 x 1 s + 1 s + 5 s), then its chats resume.
        wait_until(lambda: db_states(served.db) == {"delivered": 200}, timeout=40)
    finally:
        forwarder.terminate()
        assert forwarder.wait(timeout=10) == 0
    duplicates = sum(n - 1 for n in Counter(backend.update_ids()).values())
    print(f"in flight at kill: {in_flight}, duplicates at the bot: {duplicates}")
    assert 0 < in_flight <= 8
    assert duplicates <= in_flight
    first_deliveries_in_order(backend, sent)


def test_sigterm_lets_the_delivery_in_flight_finish_and_exits_zero(serve, backend):
    backend.rule = lambda update: Reply(delay=1.0)
    served = serve(
        env={"FORWARD_URL": backend.url, "FORWARD_TIMEOUT_SECONDS": 5},
        command=("serve", "--no-forwarder"),
    )
    post_chats(served.base_url, chats=1, per_chat=2)
    forwarder = start_forwarder(served.env)
    wait_until(lambda: backend.received, timeout=10, interval=0.01)
    forwarder.send_signal(signal.SIGTERM)
    assert forwarder.wait(timeout=10) == 0
    assert db_states(served.db) == {"delivered": 1, "pending": 1}
    assert len(backend.received) == 1


def test_without_a_forward_url_updates_are_stored_and_the_forwarder_idles(serve, backend):
    served = serve()
    post_chats(served.base_url, chats=2, per_chat=2)
    health = requests.get(served.base_url + "/health", timeout=5).json()
    assert db_states(served.db) == {"stored": 4}
    # They wait for a getUpdates consumer: a polling bot's queue is its unconfirmed updates.
    assert health["checks"]["queue:depth"][0]["observedValue"] == 4
    assert served.process.poll() is None  # the idle forwarder did not take serve down
    assert served.stop() == 0
