"""Dead letters from the pages and the API: replay and drop, refusals that change nothing."""

from __future__ import annotations

import pytest

from core.storage import DeadFilter
from tests.ops.console.conftest import csrf, make_dead


def test_the_page_lists_dead_letters_newest_first_with_the_error_inline(make_console):
    client, store = make_console()
    ids = make_dead(store, 3, error="HTTP 502: bad gateway")
    page = client.get("/dead-letters").get_data(as_text=True)
    positions = [page.index(f'data-id="{row_id}"') for row_id in reversed(ids)]
    assert positions == sorted(positions)
    assert "HTTP 502: bad gateway" in page and "http_5xx" in page


def test_replaying_one_from_the_api_requeues_it_and_is_audited(make_console):
    client, store = make_console()
    ids = make_dead(store, 2)
    token = csrf(client)
    answer = client.post(
        "/api/dead-letters/replay", json={"ids": [ids[0]]}, headers={"X-CSRF-Token": token}
    )
    assert answer.status_code == 200 and answer.json["done"] == 1
    assert store.queued_update(ids[0]).state == "pending"
    assert store.count_dead(DeadFilter()) == 1
    entry = store.audit_entries()[0]
    assert (entry.actor, entry.role, entry.action, entry.done) == ("local", "operator", "replay", 1)


def test_replaying_an_id_that_no_longer_exists_is_a_404_and_changes_nothing(make_console):
    client, store = make_console()
    ids = make_dead(store, 1)
    token = csrf(client)
    answer = client.post(
        "/api/dead-letters/replay", json={"ids": [ids[0] + 1000]}, headers={"X-CSRF-Token": token}
    )
    assert answer.status_code == 404
    assert "no such dead letter" in answer.json["error"]
    assert store.count_dead(DeadFilter()) == 1 and store.audit_entries() == []


@pytest.mark.parametrize("header", [None, "", "forged-token-0123456789"])
def test_a_missing_or_forged_csrf_token_is_403_and_changes_nothing(make_console, header):
    client, store = make_console()
    ids = make_dead(store, 1)
    csrf(client)  # the browser has a cookie; the forger cannot read it
    headers = {} if header is None else {"X-CSRF-Token": header}
    answer = client.post("/api/dead-letters/replay", json={"ids": ids}, headers=headers)
    assert answer.status_code == 403
    form = client.post("/dead-letters/action", data={"act": f"replay:{ids[0]}", "csrf_token": "x"})
    assert form.status_code == 403
    assert store.count_dead(DeadFilter()) == 1 and store.audit_entries() == []


@pytest.mark.parametrize(
    "query",
    [
        "bot=default'; DROP TABLE updates; --",
        "type=<script>alert(1)</script>",
        "error_class=' OR 1=1 --",
        "since=<script>",
        "until=nan",
        "before_id=1;DROP",
    ],
)
def test_an_injection_attempt_in_a_filter_is_a_clear_400_and_changes_nothing(make_console, query):
    client, store = make_console()
    make_dead(store, 2)
    paths = ["/dead-letters?", "/api/dead-letters?"]
    if "before_id" not in query:  # the count takes no paging
        paths.append("/api/dead-letters/count?")
    for path in paths:
        answer = client.get(path + query)
        assert answer.status_code == 400, path
        assert b"<script>" not in answer.data
    assert store.count_dead(DeadFilter()) == 2 and store.count_updates() == 2


def test_filters_narrow_the_list_by_bot_type_and_error_class(make_console):
    client, store = make_console()
    make_dead(store, 2, error="HTTP 500: a")
    make_dead(store, 3, kind="edited_message", error="Timeout: slow", first=10)
    assert client.get("/api/dead-letters/count?error_class=timeout").json["matched"] == 3
    assert client.get("/api/dead-letters/count?type=message").json["matched"] == 2
    listed = client.get("/api/dead-letters?error_class=http_5xx").json["dead_letters"]
    assert [row["error_class"] for row in listed] == ["http_5xx", "http_5xx"]


def test_a_selection_dropped_from_the_page_leaves_the_rest(make_console):
    client, store = make_console()
    ids = make_dead(store, 3)
    token = csrf(client)
    answer = client.post(
        "/dead-letters/action",
        data={"act": "drop", "id": [str(ids[0]), str(ids[1])], "csrf_token": token},
    )
    assert answer.status_code == 303
    assert store.dead_ids_among(ids) == [ids[2]]
    assert "2 of 2 done" in client.get(answer.headers["Location"]).get_data(as_text=True)


def test_a_bulk_action_needs_the_dry_run_count_typed_back(make_console):
    client, store = make_console()
    make_dead(store, 4)
    token = csrf(client)
    dry = client.post("/dead-letters/bulk", data={"action": "replay", "csrf_token": token})
    assert dry.status_code == 200 and 'data-count="4"' in dry.get_data(as_text=True)
    wrong = client.post(
        "/api/dead-letters/replay",
        json={"filter": {}, "confirm": "3"},
        headers={"X-CSRF-Token": token},
    )
    assert wrong.status_code == 409 and wrong.json["matched"] == 4
    assert store.count_dead(DeadFilter()) == 4


def test_an_unknown_update_or_audit_id_is_a_404(make_console):
    client, _ = make_console()
    for path in ("/updates/999", "/api/updates/999", "/api/audit/999"):
        assert client.get(path).status_code == 404, path
    token = csrf(client)
    reveal = client.post("/api/updates/999/reveal", headers={"X-CSRF-Token": token})
    assert reveal.status_code == 404
