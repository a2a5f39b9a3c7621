"""kill -9 under load, of one gunicorn worker and of the whole appliance (serve, gunicorn,
forwarder, monitor). Every update that got a 2xx is in the store and reaches the bot; the bot
gets nothing that is not stored, each chat in order, duplicates only for updates in flight."""

from __future__ import annotations

import os
import signal
import time

from tests.helpers.fault_kit import (
    BotBackend,
    Ledger,
    Load,
    first_delivery_order,
    gunicorn_workers,
    is_increasing,
    live_group_members,
    query,
    stored,
)
from tests.helpers.support import Served, wait_until

CHATS = 8


def assert_bot_gets_exactly_the_stored_updates(
    served_db, ledger: Ledger, backend: BotBackend, max_duplicates: int
) -> None:
    """The crash-safety contract, counted."""
    rows = stored(served_db)
    assert not ledger.acked - rows.keys(), "acknowledged with 2xx but not stored"
    assert rows.keys() <= ledger.sent(), "stored an update nobody sent"
    # Rows in flight when a forwarder died stay `delivering` until their lease (9 s) expires,
    # even though the bot may already have them; so wait on the store, not on the bot.
    wait_until(
        lambda: set(stored(served_db).values()) == {"delivered"},
        timeout=45,
        what="every stored update delivered",
    )
    delivered = backend.processed_ids()
    assert delivered.keys() == rows.keys(), "the bot got an update that is not in the store"
    for chat, ids in first_delivery_order(backend.processed()).items():
        assert is_increasing(ids), f"chat {chat} delivered out of order"
    duplicates = sum(count - 1 for count in delivered.values())
    print(
        f"sent {len(ledger.sent())}, acked {len(ledger.acked)}, failed {len(ledger.failed)}, "
        f"stored {len(rows)}, duplicate deliveries {duplicates}"
    )
    assert duplicates <= max_duplicates


def test_killing_a_worker_mid_load_costs_only_its_in_flight_requests(
    forwarding_appliance, bot_backend
):
    # The forwarder is not killed here, so a long timeout costs nothing and no slow answer
    # from the in-process bot can turn into a re-delivery.
    served = forwarding_appliance(WORKERS=2, FORWARD_TIMEOUT_SECONDS=10)
    with Load(served.base_url, chats=CHATS) as load:
        load.wait_acked(200)
        victim = gunicorn_workers(served.process.pid)[0]
        os.kill(victim, signal.SIGKILL)
        acked_at_kill = len(load.ledger.acked)
        # gunicorn replaces the worker; the other one keeps answering meanwhile.
        wait_until(
            lambda: (w := gunicorn_workers(served.process.pid)) and len(w) == 2 and victim not in w,
            timeout=20,
        )
        load.wait_acked(acked_at_kill + 200)
    assert served.process.poll() is None, "serve went down with one worker"
    assert len(load.ledger.failed) <= CHATS, load.ledger.failed  # one request in flight per chat
    # The forwarder was not touched: every stored update reaches the bot exactly once.
    assert_bot_gets_exactly_the_stored_updates(served.db, load.ledger, bot_backend, 0)


def test_killing_the_whole_appliance_loses_no_acknowledged_update(
    forwarding_appliance, bot_backend
):
    first = forwarding_appliance()
    with Load(first.base_url, chats=CHATS) as load:
        load.wait_acked(300)
        wait_until(lambda: len(bot_backend.processed()) >= 100, timeout=20)
        os.killpg(first.process.pid, signal.SIGKILL)  # serve started its own session
        first.process.wait(timeout=10)
        wait_until(lambda: not live_group_members(first.process.pid), timeout=10)
        time.sleep(0.3)  # senders meet a dead port for a while, as Telegram would
    assert load.ledger.failed, "the kill happened after the load, not during it"
    leased = query(
        first.db, "SELECT COUNT(*) FROM updates WHERE claimed_until >= ?", (time.time(),)
    )[0][0]
    second: Served = forwarding_appliance(DB=first.db)
    # At most one update per chat was in flight to the bot when the forwarder died.
    assert_bot_gets_exactly_the_stored_updates(second.db, load.ledger, bot_backend, CHATS)
    if leased:  # the new forwarder saw the old one's process gone and did not wait 9 s
        assert f"taking over its {leased} in-flight update(s)" in second.output()
