"""Fuzzing the real Flask app (create_app + test client, real SQLite): whatever arrives, the
answer is the status policy's, never a 5xx; a 2xx means the update is stored under the
update_id a bot will read; anything else stores nothing."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given

from core.telegram import SECRET_HEADER
from core.updates import describe
from tests.helpers.fuzz_strategies import (
    SCHEMA,
    content_types,
    expected_status,
    fuzz_settings,
    odd_shaped_updates,
    raw_bodies,
    secrets,
    sized_bodies,
    spec_updates,
)
from tests.helpers.support import SECRET

FRESH_IDS = itertools.count(1_000_000)


def post(
    client, body: bytes, secret: str | None = SECRET, content_type: str | None = "application/json"
):
    headers = {}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    if content_type is not None:
        headers["Content-Type"] = content_type
    return client.post("/webhook/default", data=body, headers=headers)


def assert_stored_only_if_acknowledged(store, body: bytes, status: int, rows_before: int) -> None:
    if 200 <= status < 300:
        # Duplicate keys: the last update_id wins, as in every bot framework's json.loads.
        update_id = json.loads(body)["update_id"]
        row = store.get_update("default", update_id)
        assert row is not None, "acknowledged but not stored"
        if store.count_updates() > rows_before:
            assert bytes(row["body"]) == body  # forwarded byte for byte
    else:
        assert store.count_updates() == rows_before, f"{status} but something was stored"


@fuzz_settings(max_examples=500)
@given(body=raw_bodies)
def test_any_body_gets_the_policy_status_and_is_stored_only_on_2xx(client, store, body):
    rows = store.count_updates()
    response = post(client, body)
    assert response.status_code == expected_status(SECRET, "application/json", body), response.data
    assert_stored_only_if_acknowledged(store, body, response.status_code, rows)


@fuzz_settings(max_examples=300)
@given(secret=secrets, content_type=content_types, body=raw_bodies)
def test_any_headers_get_the_policy_status_and_store_only_on_2xx(
    client, store, secret, content_type, body
):
    rows = store.count_updates()
    response = post(client, body, secret, content_type)
    assert response.status_code == expected_status(secret, content_type, body), response.data
    assert_stored_only_if_acknowledged(store, body, response.status_code, rows)


@fuzz_settings(max_examples=200)
@given(update=spec_updates())
def test_an_update_generated_from_the_spec_is_stored_typed_and_conforming(client, store, update):
    kind = next(key for key in update if key != "update_id")
    update["update_id"] = next(FRESH_IDS)  # examples repeat ids; a duplicate keeps the old row
    body = json.dumps(update).encode()
    assert post(client, body).status_code == 200
    row = store.get_update("default", update["update_id"])
    assert describe(update, SCHEMA).deviations == ()
    assert (row["type"], row["conforms"]) == (kind, 1)


@fuzz_settings(max_examples=200)
@given(update=odd_shaped_updates())
def test_an_object_with_a_valid_update_id_is_acknowledged_whatever_its_shape(client, store, update):
    # Telegram adds types and fields: a non-2xx would make it retry the update until it expires.
    body = json.dumps(update).encode()
    rows = store.count_updates()
    status = post(client, body).status_code
    assert status == 200
    assert_stored_only_if_acknowledged(store, body, status, rows)


@fuzz_settings(max_examples=12)
@given(body=sized_bodies())
def test_megabyte_bodies_are_stored_up_to_the_limit_and_refused_past_it(client, store, body):
    rows = store.count_updates()
    status = post(client, body).status_code
    assert status == expected_status(SECRET, "application/json", body)
    assert_stored_only_if_acknowledged(store, body, status, rows)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"update_id": 1, "message": {"text": "caf\xc3\xa9"}}', 200),
        (b'{"update_id": 1, "message": {"text": "caf\xe9"}}', 400),  # Latin-1, not UTF-8
        (b'{"update_id": 1, "message": {"text": "\xed\xa0\x80"}}', 400),  # encoded surrogate
        (b'{"update_id": 1, "message": {"text": "\\ud800"}}', 200),  # escaped lone surrogate
        (b'{"update_id": NaN}', 400),
        (b'{"update_id": 1, "message": {"date": Infinity}}', 400),
        (b'{"update_id": 1e3}', 400),
        (b'{"update_id": 2147483648}', 400),
        (b'{"update_id": 2147483647, "message": {}}', 200),
        (b'{"update_id": 0, "message": {}}', 200),
        (b'{"update_id": true}', 400),
        (b'{"update_id": "1"}', 400),
        (b'{"update_id": 1, "message": {"message_id": ' + b"9" * 5000 + b"}}", 400),
        (b'{"update_id": "x", "update_id": 3}', 200),  # the last key wins, as in json.loads
        (b'{"update_id": 3, "update_id": "x"}', 400),
        (b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400),
        (b'\xef\xbb\xbf{"update_id": 1}', 400),
        (b"[1]", 400),
        (b"", 400),
    ],
    ids=lambda value: repr(value)[:40] if isinstance(value, bytes) else str(value),
)
def test_tricky_bodies_get_the_status_the_policy_gives(client, store, body, status):
    rows = store.count_updates()
    assert post(client, body).status_code == status
    assert_stored_only_if_acknowledged(store, body, status, rows)
