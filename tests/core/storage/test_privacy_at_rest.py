"""Privacy at rest on both backends: the body goes in the statement that settles an update
(delivered, confirmed by getUpdates, dropped from the dead letters); a PostgreSQL dump of the
store then holds no content."""

from __future__ import annotations

import subprocess

from core.storage import IncomingUpdate
from tests.helpers.pg_kit import server_binary

NOW = 1_700_000_000.0
CANARY = b"CANARY-body-3c9e"


def canary_update(update_id: int) -> IncomingUpdate:
    body = b'{"update_id": %d, "message": {"text": "%s %d"}}' % (update_id, CANARY, update_id)
    return IncomingUpdate("default", update_id, "message", "77", body, NOW, True)


def bodies(store) -> dict[int, bytes | None]:
    rows = store.read("SELECT update_id, body FROM updates")
    return {row[0]: None if row[1] is None else bytes(row[1]) for row in rows}


def deliver(store, keep_body: bool = False) -> None:
    from core.storage.queue import DELIVERED_NOW, Outcome

    for update in store.claim_due("default", NOW, 10, NOW + 30, "me"):
        store.record_outcomes([Outcome(DELIVERED_NOW, update.id, "me", NOW, keep_body=keep_body)])


def test_a_delivered_body_is_dropped_unless_the_window_keeps_it(any_store):
    any_store.record_update(canary_update(1), forward=True)
    deliver(any_store)
    any_store.record_update(canary_update(2), forward=True)
    deliver(any_store, keep_body=True)
    assert bodies(any_store)[1] is None
    assert CANARY in bodies(any_store)[2]
    row = any_store.get_update("default", 1)
    assert (row["update_id"], row["type"], row["chat_key"], row["state"]) == (
        1,
        "message",
        "77",
        "delivered",
    )


def test_a_confirmed_body_is_dropped_when_the_offset_passes_it(any_store):
    for update_id in (1, 2, 3):
        any_store.record_update(canary_update(update_id), forward=False)
    any_store.take_poll("default", NOW)
    any_store.unconfirmed_updates("default", 10, 1 << 20, any_store.poll_cursor("default"))
    assert any_store.confirm_below("default", 3, NOW) == 2
    assert [update_id for update_id, body in bodies(any_store).items() if body] == [3]
    assert any_store.confirm_all_but("default", 0, NOW) == 1
    assert set(bodies(any_store).values()) == {None}


def test_a_dead_letter_keeps_its_body_until_dropped(any_store):
    any_store.record_update(canary_update(1), forward=True)
    [update] = any_store.claim_due("default", NOW, 10, NOW + 30, "me")
    any_store.record_dead(update.id, "me", "HTTP 500")
    assert CANARY in bodies(any_store)[1]
    assert any_store.drop_dead(None) == 1
    assert bodies(any_store)[1] is None


def dump(pg_cluster, pg_url: str) -> bytes:
    """pg_dump of this test's schema (other tests of the session share the cluster)."""
    schema = pg_url.rsplit("search_path%3D", 1)[1]
    argv = [server_binary("pg_dump"), "-h", "127.0.0.1", "-p", str(pg_cluster.port), "-n", schema]
    done = subprocess.run(
        [*argv, "-U", "postgres", "postgres"], capture_output=True, check=True, timeout=60
    )
    return done.stdout


def holds_canary(dumped: bytes) -> bool:
    """bytea is dumped as hex."""
    return CANARY in dumped or CANARY.hex().encode() in dumped


def test_a_postgresql_dump_holds_no_delivered_content(pg_cluster, pg_url):
    from core.storage import open_store

    store = open_store(pg_url)
    try:
        store.record_update(canary_update(1), forward=True)
        assert holds_canary(dump(pg_cluster, pg_url)), (
            "the dump holds a waiting body: the test can fail"
        )
        deliver(store)
        assert bodies(store) == {1: None}
        assert not holds_canary(dump(pg_cluster, pg_url))
    finally:
        store.close()
