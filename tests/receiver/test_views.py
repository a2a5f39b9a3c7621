"""The webhook status policy (DESIGN.md), one row at a time, against the real app and SQLite."""

from __future__ import annotations

import json

import pytest

from app import create_app
from core import metrics
from core.telegram import SECRET_HEADER
from tests.helpers.support import SECRET


def counter(bot: str, outcome: str) -> float:
    return metrics.REQUESTS.labels(bot, outcome)._value.get()


VALID = {
    "update_id": 10,
    "message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}},
}


@pytest.mark.parametrize(
    ("case", "kwargs", "status", "outcome"),
    [
        ("wrong secret", {"secret": "nope"}, 401, "unauthorized"),
        ("missing secret", {"secret": None}, 401, "unauthorized"),
        ("secret differs in case", {"secret": SECRET.upper()}, 401, "unauthorized"),
        ("text/plain", {"content_type": "text/plain"}, 415, "unsupported_media_type"),
        (
            "form",
            {"content_type": "application/x-www-form-urlencoded"},
            415,
            "unsupported_media_type",
        ),
        ("json with charset", {"content_type": "application/json; charset=utf-8"}, 200, "accepted"),
        ("json upper case", {"content_type": "Application/JSON"}, 200, "accepted"),
    ],
)
def test_status_policy_for_headers(post_update, store, case, kwargs, status, outcome):
    before = counter("default", outcome)
    response = post_update(VALID, **kwargs)
    assert response.status_code == status, case
    assert counter("default", outcome) == before + 1
    assert store.count_updates() == (1 if status == 200 else 0)


@pytest.mark.parametrize(
    ("case", "body"),
    [
        ("not json", b"{not json"),
        ("invalid utf-8", b'{"update_id": 1, "message": "\xff"}'),
        ("array", b"[1, 2]"),
        ("string", b'"update"'),
        ("empty", b""),
        ("no update_id", b'{"message": {}}'),
        ("update_id string", b'{"update_id": "1"}'),
        ("update_id float", b'{"update_id": 1.0}'),
        ("update_id bool", b'{"update_id": true}'),
        ("update_id negative", b'{"update_id": -1}'),
        ("update_id too big", b'{"update_id": 2147483648}'),
        ("NaN", b'{"update_id": 1, "x": NaN}'),
        ("huge integer", b'{"update_id": 1, "x": ' + b"9" * 5000 + b"}"),
        ("deep nesting", b'{"update_id": 1, "x": ' + b"[" * 100000 + b"]" * 100000 + b"}"),
    ],
)
def test_malformed_body_is_400_and_not_stored(post_update, store, case, body):
    response = post_update(body)
    assert response.status_code == 400, case
    assert store.count_updates() == 0


def test_body_over_limit_is_413_and_not_stored(make_settings, make_update):
    app = create_app(make_settings(max_body_bytes=2048))
    update = make_update(text="x" * 4096)
    response = app.test_client().post(
        "/webhook/default",
        data=json.dumps(update),
        headers={"Content-Type": "application/json", SECRET_HEADER: SECRET},
    )
    assert response.status_code == 413
    assert app.extensions["tgwebhook.store"].count_updates() == 0


def test_unknown_bot_is_404(post_update, store):
    assert post_update(VALID, bot="other").status_code == 404
    assert store.count_updates() == 0


def test_get_on_webhook_is_405(client):
    assert client.get("/webhook/default").status_code == 405


def test_new_update_is_persisted_before_200(post_update, store, make_update):
    response = post_update(make_update(42, text="hello"))
    assert response.status_code == 200
    row = store.get_update("default", 42)
    assert row["type"] == "message" and row["state"] == "stored"
    assert json.loads(row["body"])["message"]["text"] == "hello"


def test_duplicate_update_is_acknowledged_but_stored_once(post_update, store, make_update):
    before = metrics.DUPLICATES.labels("default")._value.get()
    assert post_update(make_update(7)).status_code == 200
    assert post_update(make_update(7, text="changed")).status_code == 200
    assert store.count_updates() == 1
    assert json.loads(store.get_update("default", 7)["body"])["message"]["text"] == "hi"
    assert metrics.DUPLICATES.labels("default")._value.get() == before + 1


@pytest.mark.parametrize(
    ("update", "outcome", "kind"),
    [
        ({"update_id": 3, "future_thing": {"id": 1}}, "unknown_type", "unknown"),
        ({"update_id": 3}, "unknown_type", "unknown"),
        ({"update_id": 3, "message": {"text": "no ids"}}, "schema_deviation", "message"),
        (
            {
                "update_id": 3,
                "message": {"message_id": "1", "date": 1, "chat": {"id": 1, "type": "private"}},
            },
            "schema_deviation",
            "message",
        ),
    ],
)
def test_unknown_type_or_deviation_is_accepted_stored_and_counted(
    post_update, store, update, outcome, kind
):
    before = counter("default", outcome)
    assert post_update(update).status_code == 200
    assert store.get_update("default", 3)["type"] == kind
    assert counter("default", outcome) == before + 1


def test_same_update_id_for_two_bots_is_two_updates(make_settings, tmp_path, make_update):
    config = tmp_path / "bots.toml"
    config.write_text('[bots.a]\nsecret_token = "sa"\n[bots.b]\nsecret_token = "sb"\n')
    client = create_app(make_settings(config=config)).test_client()
    for bot, secret in (("a", "sa"), ("b", "sb")):
        response = client.post(
            f"/webhook/{bot}",
            json=make_update(1),
            headers={SECRET_HEADER: secret},
        )
        assert response.status_code == 200
    assert (
        client.post("/webhook/a", json=make_update(1), headers={SECRET_HEADER: "sb"}).status_code
        == 401
    )


def test_insecure_mode_accepts_updates_without_secret(make_settings, make_update):
    app = create_app(make_settings(secret_token="", insecure_no_secret="true"))
    assert app.test_client().post("/webhook/default", json=make_update(1)).status_code == 200
