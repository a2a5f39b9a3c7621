"""Update fixtures written from the Bot API spec: Telegram's "testing your bot with updates"
set, and a generator that builds one minimal valid object of any spec type."""

from __future__ import annotations

from typing import Any

from core.updates import Schema

USER = {
    "id": 1111111,
    "is_bot": False,
    "first_name": "Test",
    "last_name": "Lastname",
    "username": "Test",
}
CHAT = {
    "id": 1111111,
    "type": "private",
    "first_name": "Test",
    "last_name": "Lastname",
    "username": "Test",
}
CHANNEL = {"id": -1001234567890, "type": "channel", "title": "News"}


def message(**over: Any) -> dict:
    return {"message_id": 1365, "date": 1441645532, "chat": CHAT, "from": USER, **over}


AUDIO = {
    "file_id": "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX",
    "file_unique_id": "AgADbX",
    "duration": 243,
    "mime_type": "audio/mpeg",
    "file_size": 3897500,
    "title": "Test music file",
}
PHOTO = [
    {
        "file_id": "AgACAgIAAxk",
        "file_unique_id": "AQADq",
        "width": 90,
        "height": 67,
        "file_size": 1234,
    }
]

# (name, update type, update) after core.telegram.org/bots/webhooks#testing-your-bot-with-updates
OFFICIAL = [
    ("text message", "message", {"update_id": 10000, "message": message(text="/start")}),
    (
        "forwarded message",
        "message",
        {
            "update_id": 10001,
            "message": message(
                text="/start",
                forward_origin={"type": "user", "date": 1441645550, "sender_user": USER},
            ),
        },
    ),
    (
        "forwarded from channel",
        "message",
        {
            "update_id": 10002,
            "message": message(
                text="/start",
                forward_origin={
                    "type": "channel",
                    "date": 1441645550,
                    "chat": CHANNEL,
                    "message_id": 5,
                },
            ),
        },
    ),
    (
        "reply",
        "message",
        {
            "update_id": 10003,
            "message": message(
                text="/start", reply_to_message=message(message_id=1334, text="Reply to this")
            ),
        },
    ),
    (
        "edited message",
        "edited_message",
        {"update_id": 10004, "edited_message": message(text="Edited text", edit_date=1441646600)},
    ),
    (
        "entities",
        "message",
        {
            "update_id": 10005,
            "message": message(
                text="Bold and italics",
                entities=[
                    {"type": "italic", "offset": 9, "length": 7},
                    {"type": "bold", "offset": 0, "length": 4},
                ],
            ),
        },
    ),
    ("audio", "message", {"update_id": 10006, "message": message(audio=AUDIO)}),
    (
        "voice",
        "message",
        {
            "update_id": 10007,
            "message": message(
                voice={
                    "file_id": "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX",
                    "file_unique_id": "AgADbY",
                    "duration": 5,
                    "mime_type": "audio/ogg",
                    "file_size": 23000,
                }
            ),
        },
    ),
    (
        "document",
        "message",
        {
            "update_id": 10008,
            "message": message(
                document={
                    "file_id": "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX",
                    "file_unique_id": "AgADbZ",
                    "file_name": "Testfile.pdf",
                    "mime_type": "application/pdf",
                    "file_size": 536392,
                }
            ),
        },
    ),
    ("photo", "message", {"update_id": 10009, "message": message(photo=PHOTO, caption="look")}),
    (
        "inline query",
        "inline_query",
        {
            "update_id": 10010,
            "inline_query": {
                "id": "134567890097",
                "from": USER,
                "query": "inline query",
                "offset": "",
            },
        },
    ),
    (
        "chosen inline result",
        "chosen_inline_result",
        {
            "update_id": 10011,
            "chosen_inline_result": {
                "result_id": "12",
                "from": USER,
                "query": "inline query",
                "inline_message_id": "1234csdbsk4839",
            },
        },
    ),
    (
        "callback query",
        "callback_query",
        {
            "update_id": 10012,
            "callback_query": {
                "id": "4382bfdwdsb323b2d9",
                "from": USER,
                "data": "Data from button callback",
                "chat_instance": "-5301512345",
                "inline_message_id": "1234csdbsk4839",
            },
        },
    ),
    (
        "callback query on message",
        "callback_query",
        {
            "update_id": 10013,
            "callback_query": {
                "id": "4382bfdwdsb323b2d8",
                "from": USER,
                "data": "yes",
                "chat_instance": "-53015",
                "message": message(text="Pick one"),
            },
        },
    ),
]


def minimal(schema: Schema, type_name: str, depth: int = 0) -> Any:
    """The smallest value of a spec type with every required field present."""
    scalars = {"Integer": 1, "Float": 1.5, "String": "x", "Boolean": True}
    if type_name in scalars:
        return scalars[type_name]
    if type_name.startswith("Array of "):
        return [minimal(schema, type_name.removeprefix("Array of "), depth + 1)]
    if schema.subtypes.get(type_name):
        first = schema.subtypes[type_name][0]
        value = minimal(schema, first, depth + 1)
        if type_name in schema.tags:  # the discriminator names the alternative
            tag, table = schema.tags[type_name]
            value[tag] = next(name for name, chosen in table.items() if first in chosen)
        return value
    assert depth < 20, f"required fields recurse through {type_name}"
    fields = schema.fields[type_name]
    return {
        name: minimal(schema, fields[name][0], depth + 1)
        for name in sorted(schema.required[type_name])
    }
