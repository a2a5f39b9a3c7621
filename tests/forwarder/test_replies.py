"""Webhook-reply bodies as bots really send them: JSON (grammY, Telegraf), form, multipart
(aiogram)."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import MultipartWriter

from forwarder.replies import InvalidReply, Reply, parse_reply

FORM = "application/x-www-form-urlencoded"


def aiohttp_multipart(fields: dict[str, str], files: dict[str, bytes] | None = None):
    """The body aiogram's SimpleRequestHandler writes (aiohttp MultipartWriter, form-data)."""
    writer = MultipartWriter("form-data", boundary="webhookBoundaryQ2x-_9")
    for name, value in fields.items():
        writer.append(value).set_content_disposition("form-data", name=name)
    for name, data in (files or {}).items():
        writer.append(data).set_content_disposition("form-data", name=name, filename=name)

    class Sink:
        data = b""

        async def write(self, chunk: bytes) -> None:
            self.data += chunk

    sink = Sink()
    asyncio.run(writer.write(sink))
    return writer.content_type, sink.data


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        (
            "application/json",
            json.dumps({"method": "sendMessage", "chat_id": 5, "text": "hi"}).encode(),
            Reply("sendMessage", {"chat_id": 5, "text": "hi"}),
        ),
        (
            "application/json; charset=utf-8",
            b'{"method":"answerCallbackQuery","callback_query_id":"9"}',
            Reply("answerCallbackQuery", {"callback_query_id": "9"}),
        ),
        (
            FORM,
            b"method=sendMessage&chat_id=5&text=a%20b",
            Reply("sendMessage", {"chat_id": "5", "text": "a b"}),
        ),
        ("application/json", b'{"ok": true}', None),  # an answer, not a call
        ("application/json", b"[1, 2]", None),
        ("application/json", b"not json", None),
        ("application/json", b"", None),
        ("text/plain", b"method=sendMessage", None),
        ("text/html", b"<html>ok</html>", None),
    ],
)
def test_a_reply_body_becomes_a_bot_api_call_or_nothing(content_type, body, expected):
    assert parse_reply(content_type, body) == expected


def test_aiogram_multipart_reply_keeps_text_fields_as_telegram_reads_them():
    content_type, body = aiohttp_multipart(
        {
            "method": "sendMessage",
            "chat_id": "-100123",
            "text": "héllo\r\nworld",
            "reply_markup": '{"inline_keyboard":[[{"text":"a","callback_data":"b"}]]}',
        }
    )
    reply = parse_reply(content_type, body)
    assert reply == Reply(
        "sendMessage",
        {
            "chat_id": "-100123",
            "text": "héllo\r\nworld",
            "reply_markup": '{"inline_keyboard":[[{"text":"a","callback_data":"b"}]]}',
        },
    )


def test_multipart_file_parts_are_named_not_decoded():
    content_type, body = aiohttp_multipart(
        {"method": "sendPhoto", "chat_id": "5", "photo": "attach://abc"},
        {"abc": b"\x89PNG\x00\xff"},
    )
    reply = parse_reply(content_type, body)
    assert reply.method == "sendPhoto"
    assert reply.files == ("abc",)
    assert reply.params == {"chat_id": "5", "photo": "attach://abc"}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"method": "../../getMe"}'),  # the method lands in a URL path
        ("application/json", b'{"method": 5}'),
        ("application/json", b'{"method": ""}'),
        (FORM, b"method=send%2FMessage"),
        (FORM, b"method=sendMessage&text=%FF"),  # not UTF-8
    ],
)
def test_a_malformed_call_is_refused(content_type, body):
    with pytest.raises(InvalidReply):
        parse_reply(content_type, body)


def test_multipart_without_a_method_is_no_call():
    content_type, body = aiohttp_multipart({"ok": "true"})
    assert parse_reply(content_type, body) is None
