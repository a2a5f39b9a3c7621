"""The store contract for chart samples, both backends: what one interval measures, rows round
trip oldest first, duplicates and old rows go, and the delivery count is an index range."""

from __future__ import annotations

import sqlite3

import pytest

from core.storage import IncomingUpdate, Sample, open_store

NOW = 1_700_000_000.0


def store_updates(store, received_at: list[float], bot: str = "default") -> None:
    for update_id, at in enumerate(received_at, start=1):
        body = b'{"update_id": %d}' % update_id
        update = IncomingUpdate(bot, update_id, "message", f"chat{update_id}", body, at, True)
        assert store.record_update(update, forward=True)


def deliver_all(store, delivered_at: float, bot: str = "default") -> int:
    claimed = store.claim_due(bot, delivered_at, 1000, delivered_at + 30, "courier")
    for row in claimed:
        assert store.record_delivered(row.id, "courier", delivered_at)
    return len(claimed)


def test_a_sample_counts_arrivals_and_deliveries_of_its_interval_only(any_store):
    store_updates(any_store, [NOW - 120, NOW - 30, NOW - 20, NOW - 10])
    assert deliver_all(any_store, NOW - 5) == 4  # all four delivered inside the interval
    store_updates(any_store, [NOW - 1], bot="other")

    sample = any_store.measure_sample("default", NOW - 60, NOW)

    assert (sample.bot, sample.at, sample.received, sample.delivered) == ("default", NOW, 3, 4)
    assert sample.lag_p99 == pytest.approx(115.0)  # the slowest of four is their p99
    assert any_store.measure_sample("default", NOW - 4, NOW).delivered == 0


def test_the_p99_ignores_the_slowest_percent_of_a_large_interval(any_store):
    # 200 deliveries: 198 took 1 s, two took 500 s; the two slowest are the top 1 %.
    received = [NOW - 501.0, NOW - 501.0] + [NOW - 2.0] * 198
    store_updates(any_store, received)
    assert deliver_all(any_store, NOW - 1) == 200

    sample = any_store.measure_sample("default", NOW - 60, NOW)

    assert sample.delivered == 200
    assert sample.lag_p99 == pytest.approx(1.0)


def test_a_quiet_interval_has_no_lag_and_carries_the_queue_as_it_stands(any_store):
    store_updates(any_store, [NOW - 300, NOW - 200])

    sample = any_store.measure_sample("default", NOW - 60, NOW)

    assert (sample.received, sample.delivered, sample.lag_p99) == (0, 0, None)
    assert (sample.queue_depth, sample.dead) == (2, 0)
    assert sample.oldest_age == pytest.approx(300.0)


def test_samples_round_trip_oldest_first_from_since(any_store):
    rows = [
        Sample("default", NOW + 60, 5, 4, 1, 2, 3.5, 0.25),
        Sample("default", NOW, 1, 1, 0, 0, 0.0, None),
        Sample("other", NOW + 30, 9, 9, 0, 0, 0.0, 0.5),
    ]
    any_store.record_samples(rows)

    assert any_store.samples("default", NOW) == [rows[1], rows[0]]
    assert any_store.samples("default", NOW + 1) == [rows[0]]
    assert any_store.samples("nobody", 0) == []
    assert any_store.last_sample_at("default") == NOW + 60
    assert any_store.last_sample_at("nobody") is None


def test_a_second_row_for_the_same_moment_is_ignored(any_store):
    first = Sample("default", NOW, received=1)
    any_store.record_samples([first])
    any_store.record_samples([Sample("default", NOW, received=99)])
    any_store.record_samples([])

    assert any_store.samples("default", 0) == [first]


def test_pruning_drops_only_rows_older_than_the_cut(any_store):
    any_store.record_samples([Sample("default", NOW - 100), Sample("default", NOW)])

    assert any_store.prune_samples(NOW - 50) == 1
    assert [s.at for s in any_store.samples("default", 0)] == [NOW]


def test_counting_deliveries_reads_the_delivered_index_not_the_table(tmp_path):
    store = open_store(str(tmp_path / "plan.db"))
    store.close()
    conn = sqlite3.connect(tmp_path / "plan.db")
    try:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM updates"
            " WHERE bot = ? AND delivered_at >= ? AND delivered_at < ?",
            ("default", NOW - 60, NOW),
        ).fetchall()
    finally:
        conn.close()
    assert any("updates_delivered" in row[-1] for row in plan), plan
