"""A bulk action over 100,000 dead letters: bounded chunks on a background thread, progress in
its audit row, other requests served meanwhile, and only the rows that matched at the start."""

from __future__ import annotations

import sqlite3
import time

from core.storage import DeadFilter
from tests.helpers.support import wait_until
from tests.ops.console.conftest import csrf, make_dead

ROWS = 100_000


def bury(db: str, count: int, first: int) -> None:
    """`count` dead letters written straight into the file (the forwarder's way takes minutes)."""
    rows = [
        ("default", n, "message", str(n), time.time(), 1, b"{}", "dead", 3, "HTTP 500: x")
        for n in range(first, first + count)
    ]
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO updates (bot, update_id, type, chat_key, received_at, conforms, body,"
            " state, attempts, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def test_replaying_100000_dead_letters_is_chunked_and_never_blocks_a_request(make_console):
    client, store = make_console()
    console = client.application.extensions["tgwebhook.console"]
    console.actions.chunk = 200  # 500 transactions: long enough to watch it run
    bury(store.path, ROWS, first=1)
    token = csrf(client)
    started = time.monotonic()
    answer = client.post(
        "/api/dead-letters/replay",
        json={"filter": {"bot": "default"}, "confirm": str(ROWS)},
        headers={"X-CSRF-Token": token},
    )
    assert answer.status_code == 202 and time.monotonic() - started < 2.0
    audit_id = answer.json["audit_id"]
    seen = []

    def progress() -> bool:
        timed = time.monotonic()
        entry = client.get(f"/api/audit/{audit_id}").json
        page = client.get("/dead-letters")
        assert page.status_code == 200 and time.monotonic() - timed < 2.0
        shown = f'data-audit="{audit_id}" data-state="running"' in page.get_data(as_text=True)
        seen.append((entry["state"], entry["done"], shown))
        return entry["state"] != "running"

    wait_until(progress, timeout=120, interval=0.05)
    assert seen[-1][:2] == ("done", ROWS)
    assert any(state == "running" and 0 <= done < ROWS for state, done, _ in seen)
    assert any(shown for _, _, shown in seen)  # the page showed it running, with its progress
    assert store.count_dead(DeadFilter()) == 0
    assert store.audit_entry(audit_id).matched == ROWS


def test_dead_letters_arriving_during_a_bulk_action_are_not_swept_in(make_console):
    client, store = make_console()
    make_dead(store, 3)
    actions = client.application.extensions["tgwebhook.console"].actions
    token = csrf(client)
    answer = client.post(
        "/api/dead-letters/drop",
        json={"filter": {}, "confirm": "3"},
        headers={"X-CSRF-Token": token},
    )
    assert answer.status_code == 202
    make_dead(store, 2, first=100)  # newer ids than the pinned ones
    wait_until(lambda: actions.running is None, timeout=30)
    assert store.count_dead(DeadFilter()) == 2
    assert store.audit_entry(answer.json["audit_id"]).done == 3


def test_one_bulk_action_runs_at_a_time_among_workers(make_console):
    client, store = make_console()
    bury(store.path, 20_000, first=1)
    client.application.extensions["tgwebhook.console"].actions.chunk = 50
    other, _ = make_console(db=store.path)  # a second worker on the same store
    body = {"filter": {}, "confirm": "20000"}
    first = client.post("/api/dead-letters/drop", json=body, headers={"X-CSRF-Token": csrf(client)})
    assert first.status_code == 202
    second = other.post("/api/dead-letters/drop", json=body, headers={"X-CSRF-Token": csrf(other)})
    assert second.status_code == 409 and "another bulk action" in second.json["error"]
    again = client.post("/api/dead-letters/drop", json=body, headers={"X-CSRF-Token": csrf(client)})
    assert again.status_code == 409
    wait_until(lambda: store.audit_entry(first.json["audit_id"]).state == "done", timeout=60)
    assert store.count_dead(DeadFilter()) == 0 and len(store.audit_entries()) == 1


def test_a_bulk_row_left_running_by_a_dead_worker_is_marked_interrupted(make_console):
    client, store = make_console()
    orphan = store.start_audit(
        time.time(), "otto", "operator", "replay all", matched=9, done=4, state="running"
    )
    rows = client.get("/api/audit").json["audit"]
    assert [(r["id"], r["state"], r["done"]) for r in rows] == [(orphan, "interrupted", 4)]
    page = client.get("/dead-letters").get_data(as_text=True)
    assert 'id="bulk-progress"' not in page
