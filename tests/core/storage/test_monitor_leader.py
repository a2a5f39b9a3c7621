"""Monitor leadership: of several monitors on one store exactly one polls and alerts; when
it dies another takes over within two lease periods, and no alert is notified twice."""

from __future__ import annotations

import signal
import time

import pytest

from core.storage import open_store
from monitor.leadership import LEASE_NAME, Leadership, run_if_leading
from simulator.harness import make_token, start_simulator
from tests.helpers.replica_kit import Recorder, start_monitor
from tests.helpers.support import stop_process, wait_until

LEASE = 3.0


@pytest.fixture
def recorder():
    started = Recorder().start()
    yield started
    started.stop()


def test_a_follower_takes_over_only_after_the_leaders_lease_runs_out(any_store):
    runs: list[str] = []
    leader = Leadership(any_store, 1.0, holder="elsewhere:1:a")
    follower = Leadership(
        any_store, 1.0, on_gain=lambda: runs.append("gain"), holder="elsewhere:2:b"
    )
    assert leader.renew() and leader.held()
    assert not follower.renew() and not follower.held()
    run_if_leading(follower, runs.append, "job")  # not the leader: skipped
    started = time.monotonic()  # the leader "dies": it renews no more
    wait_until(follower.renew, timeout=5, interval=0.1)
    # The lease was taken a few store round-trips before `started`, hence 0.6 rather than 1.0.
    assert 0.6 < time.monotonic() - started < 2.0
    run_if_leading(follower, runs.append, "job")
    assert runs == ["gain", "job"]
    assert not leader.renew() and not leader.held()  # the old leader learns it lost


def test_a_clean_stop_hands_the_lease_over_at_once(any_store):
    first, second = Leadership(any_store, 60.0), Leadership(any_store, 60.0)
    assert first.renew() and not second.renew()
    first.release()
    assert not first.held() and second.renew()


def test_two_monitor_processes_poll_once_and_fail_over_without_double_alerts(
    pg_url, recorder, tmp_path
):
    token = make_token(1)
    with start_simulator(time_factor=0.02) as sim:
        settings = {
            "bot_token": token,
            "api_base": sim.base_url,
            "poll_interval_seconds": 1,
            "leader_lease_seconds": LEASE,
            "alert_webhook_url": recorder.url,
        }
        monitors = [
            start_monitor(pg_url, tmp_path / f"monitor{i}.log", **settings) for i in range(2)
        ]
        store = open_store(pg_url)
        try:
            run_failover(sim, token, store, monitors, recorder)
        finally:
            for process in monitors:
                stop_process(process, timeout=15)
            store.close()


def holder_pid(store) -> int | None:
    holder = store.lease_holder(LEASE_NAME, time.time())
    return int(holder.split(":")[1]) if holder else None


def run_failover(sim, token, store, monitors, recorder) -> None:
    def polls(since: float = 0.0) -> list[float]:
        calls = sim.admin.calls(token, method="getWebhookInfo")
        return [c["time"] for c in calls if c["time"] >= since]

    wait_until(lambda: holder_pid(store) in {m.pid for m in monitors}, timeout=20)
    wait_until(lambda: len(polls()) >= 2, timeout=20)
    window_start = time.time()
    time.sleep(4)
    assert 3 <= len(polls(window_start)) <= 5  # ~1 per second, not 2: one poller
    sim.admin.revoke(token)  # 401: poll_failing fires (critical)
    wait_until(lambda: [b for b in recorder.bodies() if b["status"] == "firing"], timeout=20)
    leader = next(m for m in monitors if m.pid == holder_pid(store))
    leader.send_signal(signal.SIGKILL)
    leader.wait(5)
    killed_at = time.time()
    wait_until(lambda: polls(killed_at), timeout=2 * LEASE + 2)
    assert polls(killed_at)[0] - killed_at < 2 * LEASE
    survivor = next(m for m in monitors if m is not leader)
    assert holder_pid(store) == survivor.pid
    sim.admin.unrevoke(token)
    wait_until(lambda: [b for b in recorder.bodies() if b["status"] == "resolved"], timeout=20)
    time.sleep(1.5)  # room for a duplicate to show up, if there were one
    sent = [(b["alert"], b["status"]) for b in recorder.bodies()]
    history = store.alert_history(limit=100)
    assert len(sent) == len(set(sent)) == len(history), sent
