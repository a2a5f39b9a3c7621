"""The update model against the Bot API spec: official samples, every update type, deviations."""

from __future__ import annotations

import pytest

from core.updates import InvalidUpdate, describe, load_schema
from tests.helpers.samples import OFFICIAL, minimal

SCHEMA = load_schema()


@pytest.mark.parametrize(("name", "kind", "update"), OFFICIAL, ids=[row[0] for row in OFFICIAL])
def test_official_sample_updates_are_typed_and_conform(post_update, store, name, kind, update):
    info = describe(update, SCHEMA)
    assert (info.type, info.deviations) == (kind, ())
    assert post_update(update).status_code == 200
    assert store.get_update("default", update["update_id"])["type"] == kind


@pytest.mark.parametrize("kind", SCHEMA.update_types)
def test_every_update_type_in_the_spec_is_accepted_and_typed(post_update, store, kind):
    field_type = SCHEMA.fields["Update"][kind][0]
    update = {"update_id": 500, kind: minimal(SCHEMA, field_type)}
    assert describe(update, SCHEMA).conforms
    assert post_update(update).status_code == 200
    row = store.get_update("default", 500)
    assert (row["type"], row["conforms"]) == (kind, 1)


def test_spec_has_the_update_types_telegram_documents():
    assert SCHEMA.version == "Bot API 10.1"
    assert {"message", "callback_query", "inline_query", "chat_member", "managed_bot"} <= set(
        SCHEMA.update_types
    )


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ({"update_id": 1, "message": {"message_id": 1, "date": 1}}, ["message.chat: required"]),
        (
            {
                "update_id": 1,
                "message": {"message_id": "1", "date": 1, "chat": {"id": 1, "type": "p"}},
            },
            ["message.message_id: expected Integer"],
        ),
        (
            {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": 1,
                    "chat": {"id": 1, "type": "p"},
                    "entities": [{"type": "bold"}],
                },
            },
            ["message.entities[0].length: required", "message.entities[0].offset: required"],
        ),
        ({"update_id": 1, "poll": []}, ["poll: expected Poll object"]),
    ],
)
def test_deviations_name_the_field(update, expected):
    assert list(describe(update, SCHEMA).deviations) == expected


def test_unknown_fields_are_not_deviations():
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1,
            "chat": {"id": 1, "type": "p"},
            "brand_new_field": {"x": 1},
        },
    }
    assert describe(update, SCHEMA).conforms


def test_two_update_fields_make_an_unknown_update():
    info = describe({"update_id": 1, "message": {}, "poll": {}}, SCHEMA)
    assert info.type == "unknown" and not info.conforms


@pytest.mark.parametrize(
    ("update", "key"),
    [
        ({"update_id": 9, "message": {"chat": {"id": -100}}}, "-100"),
        (
            {"update_id": 9, "callback_query": {"from": {"id": 7}, "message": {"chat": {"id": 8}}}},
            "8",
        ),
        ({"update_id": 9, "callback_query": {"from": {"id": 7}}}, "7"),
        ({"update_id": 9, "inline_query": {"from": {"id": 7}}}, "7"),
        ({"update_id": 9, "poll_answer": {"user": {"id": 6}}}, "6"),
        ({"update_id": 9, "poll": {"id": "p"}}, "update:9"),
    ],
)
def test_chat_key_orders_by_chat_then_user(update, key):
    assert describe(update, SCHEMA).chat_key == key


@pytest.mark.parametrize(
    "body", [[], "x", {"update_id": -5}, {"update_id": 2**31}, {"update_id": None}]
)
def test_non_updates_are_invalid(body):
    with pytest.raises(InvalidUpdate):
        describe(body, SCHEMA)


def test_deeply_nested_reply_chain_is_a_deviation_not_a_crash():
    message = {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}}
    for _ in range(200):
        message = {**message, "reply_to_message": message}
    info = describe({"update_id": 1, "message": message}, SCHEMA)
    assert info.type == "message" and any("deeper" in d for d in info.deviations)
