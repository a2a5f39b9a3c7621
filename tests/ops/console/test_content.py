"""What the console shows: a canary inside an update's text never reaches a viewer (HTML or
API), an operator's reveal shows it and is audited, and the overview's numbers are the store's."""

from __future__ import annotations

import time

from core.storage import DeadFilter
from core.telegram import SECRET_HEADER
from ops.console.overview import INGEST
from tests.helpers.support import SECRET, make_update
from tests.ops.console.conftest import CANARY, OPERATOR, OPS_TOKEN, VIEWER, basic, csrf, make_dead


def every_read(client, headers, row_id):
    paths = ["/", "/dead-letters", "/alerts", "/updates", "/audit", f"/updates/{row_id}"]
    paths += ["/api/overview", "/api/dead-letters", "/api/updates", "/api/alerts", "/api/audit"]
    paths += [f"/api/updates/{row_id}", "/api/dead-letters?bot=default"]
    for path in paths:
        answer = client.get(path, headers=headers)
        assert answer.status_code == 200, path
        yield path, answer.get_data(as_text=True)


def test_a_canary_in_an_update_never_reaches_a_viewer(make_console):
    client, store = make_console(credentials=True)
    # The bot's error answer may quote the message: a viewer sees the error's head only.
    ids = make_dead(store, 2, text=CANARY, error=f"HTTP 500: could not handle '{CANARY}'")
    viewer = basic(VIEWER)
    for path, body in every_read(client, viewer, ids[0]):
        assert CANARY not in body, path
    refused = client.post(
        f"/api/updates/{ids[0]}/reveal", headers={**viewer, "X-CSRF-Token": csrf(client, viewer)}
    )
    assert refused.status_code == 403 and CANARY not in refused.get_data(as_text=True)
    assert store.audit_entries() == []
    listed = client.get("/api/dead-letters", headers=viewer).json["dead_letters"]
    assert listed[0]["last_error"] == "HTTP 500: [redacted]"
    operator = client.get("/dead-letters", headers=basic(OPERATOR)).get_data(as_text=True)
    assert CANARY in operator  # operators see the whole error


def test_an_operator_reveals_content_and_the_audit_list_says_so(make_console):
    client, store = make_console(credentials=True)
    ids = make_dead(store, 1, text=CANARY)
    operator = basic(OPERATOR)
    shown = client.get(f"/updates/{ids[0]}", headers=operator).get_data(as_text=True)
    assert CANARY not in shown and "[redacted]" in shown and 'data-action="reveal"' in shown
    token = csrf(client, operator)
    revealed = client.post(
        f"/updates/{ids[0]}/reveal", data={"csrf_token": token}, headers=operator
    )
    assert revealed.status_code == 200 and CANARY in revealed.get_data(as_text=True)
    entry = store.audit_entries()[0]
    assert (entry.actor, entry.action, entry.target) == ("otto", "reveal", f"update {ids[0]}")
    audit = client.get("/audit", headers=operator).get_data(as_text=True)
    assert "reveal" in audit and CANARY not in audit


def test_the_overview_numbers_are_the_stores(make_console):
    client, store = make_console()
    make_dead(store, 3)
    make_dead(store, 2, first=50)
    store.replay_dead(store.dead_ids_among(list(range(1, 100)))[:2], time.time())
    stats = store.queue_stats(["default"], time.time())[0]
    card = client.get("/api/overview").json["cards"][0]
    assert (card["queue_depth"], card["dead_letters"]) == (stats.depth, stats.dead_letters)
    assert (card["queue_depth"], card["dead_letters"]) == (2, 3)
    assert card["dead_letters"] == store.count_dead(DeadFilter(bot="default"))
    page = client.get("/").get_data(as_text=True)
    assert '<dd data-field="queue-depth">2</dd>' in page
    assert 'data-field="dead-letters">3</a>' in page
    assert 'id="last-updated"' in page and card["status"] in ("pass", "warn", "fail")


def test_the_ingest_rate_and_ack_latency_come_from_the_process_metrics(make_console):
    client, _ = make_console()
    overview = client.application.extensions["tgwebhook.console"].overview
    headers = {SECRET_HEADER: SECRET}
    for update_id in range(1, 11):
        answer = client.post("/webhook/default", json=make_update(update_id), headers=headers)
        assert answer.status_code == 200
    since = overview.windows[INGEST].samples[0].at
    card = overview.snapshot(now=since + 20.0).cards[0]
    assert card.ingest_rate == 0.5  # 10 new updates over the 20 s since the window began
    assert card.ack_p99 is not None and 0 < card.ack_p99 < 5


def test_no_secret_appears_on_any_page_or_api_answer_even_for_an_operator(make_console):
    client, store = make_console(credentials=True)
    ids = make_dead(store, 1)
    for path, body in every_read(client, {"Authorization": f"Bearer {OPS_TOKEN}"}, ids[0]):
        assert OPS_TOKEN not in body and SECRET not in body, path
        assert OPERATOR[1] not in body, path
