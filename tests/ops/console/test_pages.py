"""The pages' flows: a bulk action from the form (dry run, typed count, progress), refusals of
a viewer's form posts, alert history with notifications, and the observations per bot."""

from __future__ import annotations

import time

from core.storage import AlertTransition, DeadFilter, Observation
from tests.helpers.support import wait_until
from tests.ops.console.conftest import VIEWER, basic, csrf, make_dead


def test_a_bulk_drop_from_the_page_runs_after_the_typed_count_and_shows_progress(make_console):
    client, store = make_console()
    make_dead(store, 5, error="Timeout: slow")
    make_dead(store, 2, first=50)
    token = csrf(client)
    form = {"action": "drop", "error_class": "timeout", "csrf_token": token}
    dry = client.post("/dead-letters/bulk", data=form).get_data(as_text=True)
    assert 'id="dry-run-count" data-count="5"' in dry and 'data-expected="5"' in dry
    wrong = client.post("/dead-letters/bulk", data={**form, "confirm": "7"})
    assert wrong.status_code == 409 and "(5)" in wrong.get_data(as_text=True)
    assert store.count_dead(DeadFilter()) == 7
    started = client.post("/dead-letters/bulk", data={**form, "confirm": "5"})
    assert started.status_code == 303
    wait_until(lambda: store.count_dead(DeadFilter()) == 2, timeout=30)
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "drop all, 5 of 5 done" in page
    entry = store.audit_entries()[0]
    assert (entry.action, entry.target, entry.matched) == ("drop all", "error_class=timeout", 5)


def test_a_viewers_form_posts_are_refused_and_change_nothing(make_console):
    client, store = make_console(credentials=True)
    ids = make_dead(store, 1)
    viewer = basic(VIEWER)
    token = csrf(client, viewer)
    for path, form in (
        ("/dead-letters/action", {"act": f"replay:{ids[0]}"}),
        ("/dead-letters/bulk", {"action": "replay"}),
        ("/dead-letters/bulk", {"action": "replay", "confirm": "1"}),
        (f"/updates/{ids[0]}/reveal", {}),
    ):
        answer = client.post(path, data={**form, "csrf_token": token}, headers=viewer)
        assert answer.status_code == 403, path
    assert store.count_dead(DeadFilter()) == 1 and store.audit_entries() == []


def test_alert_history_shows_notifications_per_channel_and_observations(make_console):
    client, store = make_console()
    now = time.time()
    transition = AlertTransition(
        "default", "backlog", "fire", "ok", "firing", now, "warning", "pending is high", {}
    )
    assert store.save_transition(transition, 0, ["webhook", "email"])
    store.save_observation(
        Observation(
            "default",
            now,
            True,
            pending_update_count=42,
            last_error_message="Wrong response from the webhook: 502 Bad Gateway",
        )
    )
    page = client.get("/alerts").get_data(as_text=True)
    assert "pending is high" in page and "webhook: pending" in page and "email: pending" in page
    assert "Wrong response from the webhook: 502 Bad Gateway" in page and "app_5xx" in page
    answer = client.get("/api/alerts").json
    assert [n[0] for n in answer["alerts"][0]["notifications"]] == ["webhook", "email"]
    assert answer["observations"]["default"][0]["pending_update_count"] == 42
