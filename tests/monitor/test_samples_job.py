"""The chart-sample job on a real store: one row per bot per run, rows tiling time, a gap left
as a gap, old rows pruned, and the scheduler running it at the configured interval."""

from __future__ import annotations

import time

import pytest

from core.storage import IncomingUpdate, Sample, open_store
from monitor import jobs
from monitor.__main__ import build_scheduler

# shop forwards to its backend; news polls (getUpdates), so its queue is what it has not confirmed.
TWO_BOTS = """
[bots.shop]
secret_token = "sa"
forward_url = "http://127.0.0.1:9/shop"
[bots.news]
secret_token = "sb"
"""


@pytest.fixture
def monitored(make_settings, tmp_path):
    config = tmp_path / "bots.toml"
    config.write_text(TWO_BOTS)
    settings = make_settings(config=config, sample_interval_seconds=5)
    store = open_store(settings.db)
    yield jobs.MonitorContext.build(settings, store)
    store.close()


def arrive(store, bot: str, update_id: int, at: float) -> None:
    update = IncomingUpdate(bot, update_id, "message", f"c{update_id}", b"{}", at, True)
    assert store.record_update(update, forward=bot == "shop")


def test_each_run_records_one_row_per_bot_from_the_store(monitored):
    now = time.time()
    arrive(monitored.store, "shop", 1, now - 2)
    arrive(monitored.store, "shop", 2, now - 1)
    arrive(monitored.store, "news", 1, now - 1)

    jobs.record_samples(monitored)

    shop, news = (monitored.store.samples(bot, now - 60) for bot in ("shop", "news"))
    assert [(s.received, s.queue_depth, s.delivered, s.lag_p99) for s in shop] == [(2, 2, 0, None)]
    assert [(s.received, s.queue_depth) for s in news] == [(1, 1)]
    assert shop[0].oldest_age == pytest.approx(time.time() - (now - 2), abs=1.0)


def test_the_next_row_starts_where_the_last_one_ended(monitored):
    store = monitored.store
    now = time.time()
    store.record_samples([Sample("shop", now - 3)])
    arrive(store, "shop", 1, now - 4)  # before the last row: already counted there
    arrive(store, "shop", 2, now - 2)

    jobs.record_samples(monitored)

    assert [s.received for s in store.samples("shop", now - 60)] == [0, 1]


def test_after_a_long_gap_a_row_covers_one_interval_only(monitored):
    store = monitored.store
    now = time.time()
    store.record_samples([Sample("shop", now - 600)])
    arrive(store, "shop", 1, now - 300)  # in the gap: not spread over one row
    arrive(store, "shop", 2, now - 1)

    jobs.record_samples(monitored)

    assert [s.received for s in store.samples("shop", now - 3600)] == [0, 1]


def test_pruning_drops_samples_older_than_two_days(monitored):
    now = time.time()
    old, recent = Sample("shop", now - 49 * 3600), Sample("shop", now - 47 * 3600)
    monitored.store.record_samples([old, recent])

    jobs.prune(monitored)

    assert monitored.store.samples("shop", 0) == [recent]


def test_the_scheduler_samples_at_the_configured_interval(monitored):
    scheduler = build_scheduler(monitored)

    job = scheduler.get_job("samples")

    assert job is not None
    assert job.trigger.interval.total_seconds() == 5
