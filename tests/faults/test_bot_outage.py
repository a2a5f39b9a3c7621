"""The bot backend down for an hour (time-scaled), then up again, while updates keep arriving
over several chats: Telegram's side never notices, and afterwards the bot gets every update
exactly once, each chat in the order Telegram sent it.

Time is scaled through the backoff cap, 300 s by default and 1 s here (1/300): a 12 s outage
is to the forwarder what an hour is with the defaults, every chat head retrying at the cap for
most of it. Attempt counts do not scale, so the attempt budget is lifted; the 24 h age budget
stays as it is and must not turn anything into a dead letter.
"""

from __future__ import annotations

import time

from tests.helpers.fault_kit import Load, first_delivery_order, stored
from tests.helpers.support import wait_until

SCALE = 1 / 300
OUTAGE_SECONDS = 3600 * SCALE


def test_bot_down_for_an_hour_then_up_gets_every_update_once_in_chat_order(
    forwarding_appliance, bot_backend
):
    # Failures here are immediate (refused, 503); the long timeout only keeps a slow answer
    # from the in-process bot from becoming a re-delivery.
    served = forwarding_appliance(
        FORWARD_BACKOFF_CAP_SECONDS=300 * SCALE,
        FORWARD_MAX_ATTEMPTS=1000,
        FORWARD_TIMEOUT_SECONDS=10,
    )
    with Load(served.base_url, chats=6, per_chat_rate=10) as load:
        time.sleep(1.5)
        bot_backend.set_mode("refusing")  # the bot's host is down
        time.sleep(OUTAGE_SECONDS / 2)
        bot_backend.set_mode("failing")  # back behind its proxy, but answering 503
        time.sleep(OUTAGE_SECONDS / 2)
        waiting = sum(state != "delivered" for state in stored(served.db).values())
        bot_backend.set_mode("up")
        time.sleep(1.5)

    assert not load.ledger.failed, "ingest must not depend on the bot being up"
    assert waiting > 100, "the outage did not hold anything back"
    assert any(d.status == 503 for d in bot_backend.deliveries), "the bot was never retried"
    rows = stored(served.db)
    assert rows.keys() == load.ledger.acked
    drained = time.monotonic()
    # The bot records an update before it answers; the store says delivered after the answer.
    wait_until(
        lambda: set(stored(served.db).values()) == {"delivered"},
        timeout=30,
        what="every stored update delivered",
    )
    print(
        f"{len(rows)} updates, {waiting} waiting when the bot came back, "
        f"{sum(d.status == 503 for d in bot_backend.deliveries)} answers 503, drained "
        f"{time.monotonic() - drained:.1f} s after the load stopped"
    )
    delivered = bot_backend.processed_ids()
    assert delivered.keys() == rows.keys()
    assert max(delivered.values()) == 1, "an update reached the bot twice"
    assert first_delivery_order(bot_backend.processed()) == load.ledger.sent_by_chat
