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


CHAT = {"id": -100, "type": "group"}
USER = {"id": 7, "is_bot": False, "first_name": "A"}
PLACEHOLDER = {"id": 136817688, "is_bot": True, "first_name": "Channel"}
MESSAGE = {"message_id": 1, "date": 1, "chat": CHAT, "from": USER}
# Every Update field of the spec, with the key Telegram's own ordering would use.
CHAT_KEYS = [
    ("message", MESSAGE, "-100"),
    ("edited_message", MESSAGE, "-100"),
    ("channel_post", MESSAGE, "-100"),
    ("edited_channel_post", MESSAGE, "-100"),
    ("business_connection", {"id": "b", "user": USER, "user_chat_id": 7}, "7"),
    ("business_message", MESSAGE, "-100"),
    ("edited_business_message", MESSAGE, "-100"),
    ("deleted_business_messages", {"chat": CHAT, "message_ids": [1]}, "-100"),
    ("guest_message", MESSAGE, "-100"),
    ("message_reaction", {"chat": CHAT, "user": USER, "message_id": 1}, "-100"),
    ("message_reaction_count", {"chat": CHAT, "message_id": 1}, "-100"),
    ("inline_query", {"id": "q", "from": USER, "query": ""}, "7"),
    ("chosen_inline_result", {"result_id": "r", "from": USER}, "7"),
    ("callback_query", {"id": "c", "from": USER, "message": MESSAGE}, "-100"),
    ("shipping_query", {"id": "s", "from": USER}, "7"),
    ("pre_checkout_query", {"id": "p", "from": USER}, "7"),
    ("purchased_paid_media", {"from": USER, "paid_media_payload": "x"}, "7"),
    ("poll", {"id": "p", "question": "?"}, "update:9"),
    ("poll_answer", {"poll_id": "p", "user": USER, "option_ids": [0]}, "7"),
    ("my_chat_member", {"chat": CHAT, "from": USER}, "-100"),
    ("chat_member", {"chat": CHAT, "from": USER}, "-100"),
    ("chat_join_request", {"chat": CHAT, "from": USER}, "-100"),
    ("chat_boost", {"chat": CHAT, "boost": {}}, "-100"),
    ("removed_chat_boost", {"chat": CHAT, "boost_id": "b"}, "-100"),
    ("managed_bot", {"user": USER, "bot": {**USER, "id": 8}}, "7"),
]


def test_chat_key_table_covers_every_update_type_of_the_spec():
    assert sorted(kind for kind, _, _ in CHAT_KEYS) == sorted(SCHEMA.update_types)


@pytest.mark.parametrize(("kind", "body", "key"), CHAT_KEYS, ids=[row[0] for row in CHAT_KEYS])
def test_each_update_type_is_ordered_by_its_chat_or_user(kind, body, key):
    assert describe({"update_id": 9, kind: body}, SCHEMA).chat_key == key


def test_a_vote_on_behalf_of_a_chat_is_ordered_by_that_chat_not_the_placeholder_user():
    votes = [
        {"poll_id": "p", "voter_chat": {**CHAT, "id": chat}, "user": PLACEHOLDER, "option_ids": []}
        for chat in (-1001, -1002)
    ]
    keys = {describe({"update_id": 9, "poll_answer": vote}, SCHEMA).chat_key for vote in votes}
    assert keys == {"-1001", "-1002"}


def reaction_update(*reactions: dict) -> dict:
    body = {"chat": CHAT, "message_id": 1, "date": 1, "old_reaction": [], "new_reaction": []}
    return {"update_id": 1, "message_reaction": {**body, "new_reaction": list(reactions)}}


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        (reaction_update({"type": "emoji", "emoji": "👍"}), []),
        (reaction_update({"type": "paid"}), []),
        # Best fit would call this a paid reaction and see nothing wrong.
        (reaction_update({"type": "emoji"}), ["message_reaction.new_reaction[0].emoji: required"]),
        (
            reaction_update({"type": "custom_emoji", "emoji": "👍"}),
            ["message_reaction.new_reaction[0].custom_emoji_id: required"],
        ),
        (
            reaction_update({"type": "sparkle"}),
            [
                "message_reaction.new_reaction[0].type: 'sparkle' is not one of"
                " ['custom_emoji', 'emoji', 'paid']"
            ],
        ),
        (reaction_update({"emoji": "👍"}), ["message_reaction.new_reaction[0].type: required"]),
    ],
)
def test_union_members_are_chosen_by_their_discriminator(update, expected):
    assert list(describe(update, SCHEMA).deviations) == expected


def member_update(status: str, **member: object) -> dict:
    old = {"status": "member", "user": USER}
    new = {"status": status, "user": USER, **member}
    body = {"chat": CHAT, "from": USER, "date": 1, "old_chat_member": old, "new_chat_member": new}
    return {"update_id": 1, "chat_member": body}


def test_a_banned_member_without_until_date_is_a_deviation():
    info = describe(member_update("kicked"), SCHEMA)
    assert info.deviations == ("chat_member.new_chat_member.until_date: required",)
    assert describe(member_update("kicked", until_date=0), SCHEMA).conforms


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"chat": CHAT, "message_id": 1, "date": 0}, []),
        ({"message_id": 1, "date": 0}, ["callback_query.message.chat: required"]),
        (MESSAGE, []),
        ({**MESSAGE, "message_id": "1"}, ["callback_query.message.message_id: expected Integer"]),
    ],
)
def test_an_inaccessible_message_is_told_by_its_zero_date(message, expected):
    update = {"update_id": 1, "callback_query": {"id": "c", "from": USER, "message": message}}
    update["callback_query"]["chat_instance"] = "i"
    assert list(describe(update, SCHEMA).deviations) == expected


@pytest.mark.parametrize("tag", [["emoji"], {"x": 1}, 5, None])
def test_a_discriminator_that_is_not_a_string_is_a_deviation_not_a_crash(tag):
    info = describe(reaction_update({"type": tag, "emoji": "👍"}), SCHEMA)
    assert info.deviations[0].startswith("message_reaction.new_reaction[0].type: ")
