"""DESIGN.md's webhook status policy as one table: every row a request, the status it must get,
and whether the update is stored. The statuses are written out here, not read from
receiver/policy.py, so a change to the policy table has to be made in both places.

Requests go through the ASGI app `serve` runs (create_app's WSGI side is that app, bridged)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

import pytest

from app import create_app
from core.metrics import REQUEST_OUTCOMES
from core.telegram import SECRET_HEADER
from receiver.policy import STATUS
from tests.helpers.support import SECRET, make_update

JSON = "application/json"


@dataclass(frozen=True)
class Row:
    outcome: str  # the receiver/policy.py key
    status: int
    stored: bool
    body: bytes = json.dumps(make_update(7)).encode()
    path: str = "/webhook/default"
    method: str = "POST"
    headers: dict = field(default_factory=lambda: {SECRET_HEADER: SECRET, "Content-Type": JSON})
    settings: dict = field(default_factory=dict)
    peer: str = "127.0.0.1"


def body(update: object) -> bytes:
    return json.dumps(update).encode()


ROWS = [
    Row("unknown_bot", 404, False, path="/webhook/nobody"),
    Row("method_not_allowed", 405, False, method="PUT"),
    Row("unauthorized", 401, False, headers={"Content-Type": JSON}),
    Row(
        "unauthorized",
        401,
        False,
        headers={SECRET_HEADER: "wrong", "Content-Type": JSON},
    ),
    Row("forbidden", 403, False, settings={"ip_allowlist": "true"}, peer="8.8.8.8"),
    Row(
        "unsupported_media_type",
        415,
        False,
        headers={SECRET_HEADER: SECRET, "Content-Type": "text/plain"},
    ),
    Row(
        "too_large",
        413,
        False,
        body=body(make_update(7, text="x" * 2000)),
        settings={"max_body_bytes": 1024},
    ),
    Row("bad_request", 400, False, body=b"{not json"),
    Row("bad_request", 400, False, body=b"[1, 2]"),
    Row("bad_request", 400, False, body=body({"update_id": "7", "message": {}})),
    Row("bad_request", 400, False, body=body({"update_id": 2**31, "message": {}})),
    Row("accepted", 200, True),
    Row("duplicate", 200, True),  # posted twice below
    Row("unknown_type", 200, True, body=body({"update_id": 7, "brand_new_kind": {"id": 1}})),
    Row("schema_deviation", 200, True, body=body({"update_id": 7, "message": {"text": "hi"}})),
    Row("store_failed", 503, False, settings={"store_timeout_seconds": 0.2}),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.outcome}-{r.status}")
def test_every_policy_row_answers_its_status(row: Row, make_settings, tmp_path):
    app = create_app(make_settings(**row.settings))
    client, store = app.test_client(), app.extensions["tgwebhook.store"]

    def send():
        return client.open(
            row.path,
            method=row.method,
            data=row.body,
            headers=row.headers,
            environ_base={"REMOTE_ADDR": row.peer},
        )

    try:
        if row.outcome == "duplicate":
            assert send().status_code == 200
        if row.outcome == "store_failed":  # a real lock, held past the store timeout
            blocker = sqlite3.connect(tmp_path / "tgwebhook.db", isolation_level=None)
            blocker.execute("BEGIN EXCLUSIVE")
            try:
                answer = send()
            finally:
                blocker.close()
            assert answer.headers.get("Retry-After")
        else:
            answer = send()
        assert answer.status_code == row.status
        assert STATUS[row.outcome] == row.status, "receiver/policy.py disagrees with DESIGN"
        assert (store.get_update("default", 7) is not None) is row.stored
    finally:
        store.close()


def test_the_table_has_a_row_for_every_outcome_of_the_policy():
    assert set(STATUS) == {row.outcome for row in ROWS}


def test_the_policy_gives_a_status_to_exactly_the_counted_outcomes_and_the_two_uncounted():
    # The names are declared once, as metric label values; the policy may not invent others.
    assert set(STATUS) == {*REQUEST_OUTCOMES, "unknown_bot", "method_not_allowed"}
