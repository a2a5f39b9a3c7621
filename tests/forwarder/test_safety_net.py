"""The safety-net poll is unconditional: whatever the claim loop is waiting for (a retry due in an
hour, a slow chat holding a slot, nothing at all), an update whose wake-up was lost is claimed
within about one poll interval."""

from __future__ import annotations

import time

from tests.helpers.forward_kit import Reply, enqueue, enqueue_silently
from tests.helpers.support import wait_until

POLL = 0.3
RETRY_LATER = Reply(status=503, headers={"Retry-After": "3600"})
SLOW = Reply(delay=4.0)


def answer(update: dict) -> Reply:
    chat = update["message"]["chat"]["id"]
    return {5: RETRY_LATER, 7: SLOW}.get(chat, Reply())


def test_a_lost_wake_up_costs_one_poll_whatever_the_loop_waits_for(
    queue_store, backend, forward_settings, run_dispatcher
):
    backend.rule = answer
    run_dispatcher(forward_settings(forward_poll_seconds=POLL, forward_concurrency=4))
    enqueue(queue_store, 1, 5)  # failed, its retry scheduled an hour from now
    wait_until(lambda: backend.update_ids(5) == [1], timeout=5, what="first attempt")
    enqueue(queue_store, 2, 7)  # in flight for 4 s, holding a slot
    wait_until(lambda: backend.update_ids(7) == [2], timeout=5, what="slow chat")
    for update_id, chat in ((3, 8), (4, 9), (5, 10)):
        time.sleep(POLL)  # the loop is asleep again
        stored = time.monotonic()
        enqueue_silently(queue_store, update_id, chat)
        wait_until(lambda c=chat: backend.update_ids(c), timeout=5, what=f"chat {chat}")
        received = next(r for r in backend.received if r.update_id == update_id)
        assert received.at - stored < 2 * POLL + 0.5, f"update {update_id} missed the poll"
