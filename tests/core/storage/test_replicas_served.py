"""Three `python app.py serve` replicas on one PostgreSQL: shared dedup, one forwarding per
update in per-chat order, nothing acknowledged lost when a replica is SIGKILLed, and 503 (not
200) while PostgreSQL restarts, with service resuming by itself."""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from core.storage import open_store
from core.telegram import SECRET_HEADER
from tests.helpers.replica_kit import Recorder
from tests.helpers.support import SECRET, make_update, wait_until

UPDATES, CHATS = 1000, 25


@pytest.fixture
def backend():
    started = Recorder().start()
    yield started
    started.stop()


def post(base_url: str, update_id: int, session: requests.Session) -> int | None:
    """The status of one webhook POST; None when the replica cannot be reached."""
    update = make_update(update_id, chat_id=1000 + update_id % CHATS)
    try:
        return session.post(
            f"{base_url}/webhook/default",
            json=update,
            timeout=15,
            headers={SECRET_HEADER: SECRET},
        ).status_code
    # A kill can also land between the status line and the body: no answer either.
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
        return None


def start_replicas(serve, pg_url: str, backend: Recorder, count: int, **env: object) -> list:
    settings = {
        "TGWEBHOOK_DB": pg_url,
        "forward_url": backend.url,
        "forward_timeout_seconds": 2,
        **env,
    }
    return [serve(env=settings, workers=1) for _ in range(count)]


def test_three_replicas_store_and_forward_each_update_once_in_chat_order(serve, pg_url, backend):
    replicas = start_replicas(serve, pg_url, backend, 3)
    alive = [True, True, True]
    acknowledged: set[int] = set()
    sent = itertools.count()
    lock = threading.Lock()

    def send_chat(chat: int) -> None:
        # Like Telegram: one update of a chat at a time, each (here) sent to two replicas;
        # a replica that cannot be reached is replaced by the next one.
        session = requests.Session()
        for update_id in range(chat, UPDATES, CHATS):
            first = update_id % 3
            for target in (first, (first + 1) % 3, (first + 2) % 3):
                status = post(replicas[target].base_url, update_id, session)
                if next(sent) == UPDATES * 2 // 3:
                    kill(2)
                if status == 200:
                    with lock:
                        acknowledged.add(update_id)
                    if target != first:
                        break

    def kill(index: int) -> None:
        alive[index] = False
        os.killpg(replicas[index].process.pid, signal.SIGKILL)
        replicas[index].process.wait(10)

    with ThreadPoolExecutor(max_workers=CHATS) as pool:
        list(pool.map(send_chat, range(CHATS)))
    assert acknowledged == set(range(UPDATES))
    store = open_store(pg_url)
    try:
        assert store.count_updates() == UPDATES
        wait_until(lambda: len({b["update_id"] for b in backend.bodies()}) == UPDATES, timeout=60)
    finally:
        store.close()
    delivered = [body["update_id"] for body in backend.bodies()]
    # Only updates in flight at the killed replica may be delivered a second time.
    assert len(delivered) - UPDATES <= 40
    first_seen = list(dict.fromkeys(delivered))
    for chat in range(CHATS):
        in_chat = [u for u in first_seen if u % CHATS == chat]
        assert in_chat == sorted(in_chat), chat


def test_postgres_restart_gives_503_never_an_unsaved_200_and_service_resumes(
    serve, pg_url, pg_cluster, backend
):
    replicas = start_replicas(serve, pg_url, backend, 2, store_timeout_seconds=1)
    answers: list[tuple[int, int | None, float]] = []
    ids, stop = itertools.count(1), threading.Event()

    def sender(index: int) -> None:
        session = requests.Session()
        while not stop.is_set():
            update_id = next(ids)
            status = post(replicas[index % 2].base_url, update_id, session)
            answers.append((update_id, status, time.monotonic()))

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        pg_cluster.stop("fast")
        time.sleep(2)
        pg_cluster.start()
        restarted = time.monotonic()
        wait_until(lambda: any(s == 200 and t > restarted + 0.5 for _, s, t in answers), timeout=30)
        time.sleep(1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    statuses = {status for _, status, _ in answers}
    assert statuses <= {200, 503}, statuses
    assert 503 in statuses
    store = open_store(pg_url)
    try:
        stored = {
            u
            for u in range(1, max(u for u, *_ in answers) + 1)
            if store.get_update("default", u) is not None
        }
    finally:
        store.close()
    assert {u for u, status, _ in answers if status == 200} <= stored
