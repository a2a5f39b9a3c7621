"""Webhook replies, pure: a Bot API call a bot put in the body of its 2xx answer.

Telegram lets a webhook answer with a method call instead of making a request of its own
(https://core.telegram.org/bots/api#making-requests-when-getting-updates). aiogram sends it as
multipart/form-data, Telegraf and grammY as JSON; form-urlencoded is accepted too. Behind the
appliance Telegram never sees that body, so the forwarder has to make the call.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

# A method name ends up in the request path: nothing but a plain identifier may pass.
METHOD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


class InvalidReply(ValueError):
    """The body names a method but cannot be turned into a call."""


@dataclass(frozen=True)
class Reply:
    method: str
    params: dict[str, Any]
    files: tuple[str, ...] = field(default=())  # names of file parts (multipart uploads)


def parse_reply(content_type: str, body: bytes) -> Reply | None:
    """The call in a 2xx answer, None when there is none; InvalidReply when it is unusable."""
    media = content_type.split(";", 1)[0].strip().lower()
    if not body.strip():
        return None
    fields: dict[str, Any] | None
    if media == "multipart/form-data":
        fields, files = multipart_fields(content_type, body)
    elif media == "application/x-www-form-urlencoded":
        fields, files = form_fields(body), ()
    elif media in ("application/json", "") or media.endswith("+json"):
        fields, files = json_fields(body), ()
    else:
        return None  # text/plain "ok" and the like: an answer, not a call
    if fields is None or "method" not in fields:
        return None
    method = fields.pop("method")
    if not isinstance(method, str) or not METHOD_NAME.match(method):
        raise InvalidReply(f"invalid method name {str(method)[:64]!r}")
    return Reply(method, fields, files)


def json_fields(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return dict(value) if isinstance(value, dict) else None


def form_fields(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidReply(f"undecodable form body: {exc}") from None


def multipart_fields(content_type: str, body: bytes) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Text fields as strings (as Telegram reads them) and the names of file parts."""
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
    if not message.is_multipart():
        raise InvalidReply("multipart body without parts")
    fields: dict[str, Any] = {}
    files: list[str] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        if part.get_filename() is not None:
            files.append(str(name))
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):  # decode=True gives bytes for a leaf part
            payload = b""
        try:
            fields[str(name)] = payload.decode(part.get_content_charset() or "utf-8")
        except (UnicodeDecodeError, LookupError) as exc:
            raise InvalidReply(f"field {name!r} is not text: {exc}") from None
    return fields, tuple(files)
