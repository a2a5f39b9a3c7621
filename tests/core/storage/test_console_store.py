"""The console's store verbs on SQLite and PostgreSQL: filters bind values (never SQL text),
newest first, chunks pinned by id, audit rows, metadata without bodies."""

from __future__ import annotations

import json

import pytest

from core.storage import DeadFilter, IncomingUpdate

NOW = 1_800_000_000.0


def bury(store, update_ids, kind="message", error="HTTP 500: oops", bot="default", at=NOW):
    """Dead letters as the forwarder makes them: stored, claimed, recorded dead."""
    for update_id in update_ids:
        body = json.dumps({"update_id": update_id, kind: {"text": "secret words"}}).encode()
        store.record_update(
            IncomingUpdate(bot, update_id, kind, f"chat{update_id}", body, at, True), forward=True
        )
    claimed = store.claim_due(bot, at + 1, len(update_ids), at + 60, "t")
    for row in claimed:
        assert store.record_dead(row.id, "t", error)
    return sorted(row.id for row in claimed)


def test_dead_letters_are_listed_newest_first_and_paged(any_store):
    ids = bury(any_store, range(1, 6))
    listed = [row.id for row in any_store.list_dead(DeadFilter(), limit=3)]
    assert listed == ids[::-1][:3]
    older = any_store.list_dead(DeadFilter(), limit=3, before_id=listed[-1])
    assert [row.id for row in older] == ids[::-1][3:]
    assert all(row.body is None for row in any_store.list_dead(DeadFilter()))


@pytest.mark.parametrize(
    ("dead", "expected"),
    [
        (DeadFilter(), 6),
        (DeadFilter(bot="default"), 4),
        (DeadFilter(bot="other"), 2),
        (DeadFilter(type="edited_message"), 1),
        (DeadFilter(error_class="http_5xx"), 3),
        (DeadFilter(error_class="timeout"), 1),
        (DeadFilter(error_class="other"), 2),
        (DeadFilter(since=NOW + 5), 2),
        (DeadFilter(until=NOW + 5), 4),
        (DeadFilter(bot="default'; DROP TABLE updates; --"), 0),
        (DeadFilter(type="<script>"), 0),
    ],
)
def test_each_filter_narrows_the_count(any_store, dead, expected):
    bury(any_store, [1, 2], error="HTTP 502: bad gateway")
    bury(any_store, [3], kind="edited_message", error="Timeout: slow bot")
    bury(any_store, [4], error="HTTP 500 ")
    bury(any_store, [5, 6], bot="other", error="certificate verify failed", at=NOW + 10)
    assert any_store.count_dead(dead) == expected
    assert len(any_store.list_dead(dead)) == expected
    assert any_store.count_updates() == 6  # nothing a filter says is ever run


def test_an_unknown_error_class_is_refused(any_store):
    with pytest.raises(ValueError, match="unknown error class"):
        any_store.count_dead(DeadFilter(error_class="x' OR '1'='1"))


def test_chunks_walk_the_pinned_rows_in_id_order(any_store):
    ids = bury(any_store, range(1, 8))
    pinned = DeadFilter(through_id=ids[4])
    assert any_store.dead_chunk(pinned, 0, 2) == ids[:2]
    assert any_store.dead_chunk(pinned, ids[1], 10) == ids[2:5]
    assert any_store.dead_chunk(pinned, ids[4], 10) == []
    assert any_store.newest_dead_id(DeadFilter()) == ids[-1]
    assert any_store.dead_ids_among([ids[0], ids[0] + 999]) == [ids[0]]


def test_audit_rows_record_and_progress(any_store):
    first = any_store.start_audit(NOW, "alice", "operator", "replay", target="ids 1", done=1)
    second = any_store.start_audit(
        NOW + 1, "alice", "operator", "drop all", bot="default", matched=9, state="running"
    )
    assert any_store.audit_entry(second).finished_at is None
    any_store.progress_audit(second, 5)
    assert any_store.audit_entry(second).done == 5
    any_store.progress_audit(second, 9, "done", NOW + 2)
    entries = any_store.audit_entries()
    assert [e.id for e in entries] == [second, first]
    assert (entries[0].done, entries[0].state, entries[0].finished_at) == (9, "done", NOW + 2)
    assert entries[1].finished_at == NOW and any_store.audit_entry(second + 100) is None


def test_recent_updates_are_metadata_newest_first(any_store):
    bury(any_store, [1, 2])
    bury(any_store, [3], bot="other")
    rows = any_store.recent_updates()
    assert [row.update_id for row in rows] == [3, 2, 1]
    assert [row.update_id for row in any_store.recent_updates("default", limit=1)] == [2]
    assert [row.update_id for row in any_store.recent_updates(None, 2, rows[1].id)] == [1]
    assert [row.update_id for row in any_store.recent_updates("default", 5, rows[1].id)] == [1]
    assert not any("secret" in repr(row) for row in rows)
    assert b"secret words" in any_store.update_body(rows[0].id)


def test_only_a_running_audit_row_can_be_interrupted(any_store):
    running = any_store.start_audit(NOW, "a", "operator", "drop all", matched=5, state="running")
    finished = any_store.start_audit(NOW, "a", "operator", "drop all", matched=5, done=5)
    assert any_store.interrupt_audit(running, NOW + 1)
    assert not any_store.interrupt_audit(finished, NOW + 1)
    assert not any_store.interrupt_audit(running, NOW + 2)
    states = {e.id: (e.state, e.finished_at) for e in any_store.audit_entries()}
    assert states == {running: ("interrupted", NOW + 1), finished: ("done", NOW)}
