"""The store contract, both backends: observations, alert compare-and-set, the notification
outbox, certificate checks and leader leases, with two store instances racing."""

from __future__ import annotations

import threading

from core.storage import AlertState, AlertTransition, CertificateCheck, Observation

NOW = 1_700_000_000.0


def fire(alert: str = "backlog", at: float = NOW, bot: str = "default") -> AlertTransition:
    return AlertTransition(
        bot,
        alert,
        "fire",
        "ok",
        "firing",
        at,
        "warning",
        f"{alert} is bad",
        {"pending_update_count": 7},
        started_at=at,
    )


def race(stores, work, rounds: int) -> list[list]:
    """Run work(store, round) on each store in its own thread, rounds started together."""
    barrier = threading.Barrier(len(stores))
    results: list[list] = [[] for _ in stores]

    def racer(index: int) -> None:
        for round_number in range(rounds):
            barrier.wait(10)
            results[index].append(work(stores[index], round_number))

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


# -- observations ---------------------------------------------------------------------------
def test_observations_round_trip_newest_first_and_prune(any_store):
    full = Observation(
        "default",
        NOW,
        True,
        pending_update_count=3,
        last_error_date=int(NOW),
        last_error_message="Connection refused",
        url="https://x/webhook/default",
        max_connections=40,
        allowed_updates=("message",),
        ip_address="1.2.3.4",
    )
    failed = Observation("default", NOW + 60, False, error_code=401, error="Unauthorized")
    any_store.save_observation(full)
    any_store.save_observation(failed)
    any_store.save_observation(Observation("other", NOW, True))
    assert any_store.recent_observations("default") == [failed, full]
    assert any_store.latest_observation("default") == failed
    assert any_store.latest_observation("nobody") is None
    assert any_store.last_successful_poll("default") == NOW
    assert any_store.prune_observations(NOW + 1) == 2
    assert any_store.recent_observations("default") == [failed]


# -- alert state: compare-and-set ---------------------------------------------------------
def test_save_transition_writes_history_state_and_one_notification_per_channel(any_store):
    transition_id = any_store.save_transition(fire(), 0, ["webhook", "email"])
    [current] = any_store.alert_states("default")
    assert (current.state, current.changed_at, current.version) == ("firing", NOW, 1)
    [row] = any_store.alert_history("default")
    assert (row.id, row.kind, row.details) == (transition_id, "fire", {"pending_update_count": 7})
    sends = any_store.notification_states([transition_id])[transition_id]
    assert [(channel, status) for channel, status, *_ in sends] == [
        ("webhook", "pending"),
        ("email", "pending"),
    ]
    assert any_store.notification_states([]) == {}


def test_a_transition_from_a_stale_state_is_refused_and_leaves_no_trace(any_store):
    assert any_store.save_transition(fire(), 0, ["webhook"]) is not None
    assert any_store.save_transition(fire(at=NOW + 1), 0, ["webhook"]) is None
    assert len(any_store.alert_history()) == 1
    assert any_store.has_due_notifications(NOW + 0.5)
    assert len(any_store.claim_notifications(NOW + 10, 60)) == 1
    assert not any_store.has_due_notifications(NOW + 11)


def test_two_instances_racing_on_one_change_exactly_one_wins(open_url):
    stores = [open_url(), open_url()]
    wins = race(stores, lambda s, n: s.save_transition(fire(f"race{n}"), 0, ["webhook"]), 20)
    assert [(a is not None) + (b is not None) for a, b in zip(*wins, strict=True)] == [1] * 20
    assert len(stores[0].alert_history(limit=100)) == 20
    assert len(stores[1].claim_notifications(NOW + 1, 60, limit=100)) == 20
    assert {s.version for s in stores[0].alert_states()} == {1}


# -- notification outbox --------------------------------------------------------------------
def test_outbox_lease_finish_retry_and_prune(any_store):
    tid = any_store.save_transition(fire(), 0, ["webhook", "email"])
    first, second = any_store.claim_notifications(NOW, 60)
    assert (first.attempts, first.transition.summary) == (1, "backlog is bad")
    assert any_store.claim_notifications(NOW + 59, 60) == []  # leased
    assert any_store.finish_notification(first, sent=True, now=NOW + 1)
    assert any_store.retry_notification(second, NOW + 30, "HTTP 503")
    assert any_store.claim_notifications(NOW + 29, 60) == []
    [again] = any_store.claim_notifications(NOW + 30, 60)
    assert (again.id, again.attempts) == (second.id, 2)
    assert not any_store.finish_notification(second, sent=True, now=NOW + 31)  # old lease
    assert any_store.finish_notification(again, sent=False, now=NOW + 31, error="HTTP 400")
    states = any_store.notification_states([tid])[tid]
    assert [(s[1], s[2], s[3]) for s in states] == [("sent", 1, ""), ("failed", 2, "HTTP 400")]
    assert any_store.prune_notifications(NOW + 1) == 2
    assert any_store.notification_states([tid])[tid] == []


def test_a_dead_senders_lease_expires_and_the_row_is_claimed_again(any_store):
    any_store.save_transition(fire(), 0, ["webhook"])
    [claimed] = any_store.claim_notifications(NOW, lease_seconds=60)
    assert any_store.claim_notifications(NOW + 59, 60) == []
    [again] = any_store.claim_notifications(NOW + 61, 60)
    assert again.id == claimed.id and again.lease != claimed.lease


def test_two_instances_claiming_the_outbox_never_share_a_notification(open_url):
    stores = [open_url(), open_url()]
    for n in range(60):
        stores[0].save_transition(fire(f"a{n}"), 0, ["webhook", "email"])
    claimed = race(stores, lambda s, _: [n.id for n in s.claim_notifications(NOW, 60, 3)], 30)
    every = [nid for batches in claimed for batch in batches for nid in batch]
    assert len(every) == 120 and len(set(every)) == 120


# -- certificates ---------------------------------------------------------------------------
def test_certificate_checks_keep_the_latest_per_bot(any_store):
    any_store.save_certificate_check(CertificateCheck("default", "a.example", NOW, NOW + 86400))
    latest = CertificateCheck("default", "a.example", NOW + 60, None, "certificate expired")
    any_store.save_certificate_check(latest)
    other = CertificateCheck("other", "b.example", NOW, NOW + 10)
    any_store.save_certificate_check(other)
    assert any_store.certificate_check("default") == latest
    assert any_store.certificate_check("nobody") is None
    assert any_store.certificate_checks() == [latest, other]


def test_alert_states_of_one_bot_and_of_all(any_store):
    any_store.save_transition(fire("b"), 0, [])
    any_store.save_transition(fire("a", bot="other"), 0, [])
    assert [(s.bot, s.alert) for s in any_store.alert_states()] == [
        ("default", "b"),
        ("other", "a"),
    ]
    assert any_store.alert_states("nobody") == []
    assert isinstance(any_store.alert_states("other")[0], AlertState)


# -- leader lease ---------------------------------------------------------------------------
def test_a_lease_has_one_holder_until_it_expires_or_is_released(any_store):
    assert any_store.take_lease("monitor", "a", NOW, 15)
    assert not any_store.take_lease("monitor", "b", NOW + 14, 15)
    assert any_store.take_lease("monitor", "a", NOW + 10, 15)  # renewed: now until NOW + 25
    assert not any_store.take_lease("monitor", "b", NOW + 24, 15)
    assert any_store.lease_holder("monitor", NOW + 24) == "a"
    assert any_store.take_lease("monitor", "b", NOW + 26, 15)
    assert not any_store.release_lease("monitor", "a")
    assert any_store.release_lease("monitor", "b")
    assert any_store.lease_holder("monitor", NOW + 27) is None
    assert any_store.take_lease("monitor", "a", NOW + 27, 15)


def test_instances_racing_for_a_free_lease_elect_exactly_one(open_url):
    stores = [open_url(), open_url(), open_url()]

    def take(store, round_number: int) -> bool:
        return store.take_lease(f"r{round_number}", f"holder{id(store)}", NOW, 15)

    wins = race(stores, take, 15)
    assert [sum(won) for won in zip(*wins, strict=True)] == [1] * 15


def test_a_live_lease_is_taken_only_from_the_holder_named_as_dead(any_store):
    assert any_store.take_lease("monitor", "a", NOW, 15)
    assert not any_store.take_lease("monitor", "b", NOW + 1, 15, replacing="c")
    assert any_store.take_lease("monitor", "b", NOW + 1, 15, replacing="a")
    assert any_store.lease_holder("monitor", NOW + 2) == "b"
