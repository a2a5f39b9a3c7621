"""A Bot API call's parameters as Telegram reads them: query string, form, JSON or multipart,
every value as text (JSON non-strings as their JSON text)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from email import errors
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl


class Unparsable(ValueError):
    """A body Telegram would refuse to read (invalid JSON, a cut-off multipart body)."""


@dataclass(frozen=True)
class Params:
    values: Mapping[str, str] = field(default_factory=dict)

    def text(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def integer(self, name: str, default: int = 0) -> int:
        """Telegram's reading: leading digits (with a sign), anything else 0; missing: default."""
        raw = self.values.get(name)
        return default if raw is None or raw == "" else leading_integer(raw)

    def flag(self, name: str) -> bool:
        return self.values.get(name, "").strip().lower() in ("true", "1")


def leading_integer(raw: str) -> int:
    text = raw.strip()
    sign = -1 if text.startswith("-") else 1
    digits = ""
    for char in text.lstrip("+-"):
        if not char.isdigit():
            break
        digits += char
    return sign * int(digits) if digits else 0


def parse(query: bytes, content_type: str, body: bytes, strict: bool = False) -> Params:
    """`strict`: raise Unparsable where Telegram answers 400 (it reads any body that is not a
    form as JSON, whatever its declared type); else read what can be read."""
    values = dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
    kind = content_type.partition(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        values.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif kind == "multipart/form-data":
        values.update(from_multipart(content_type, body, strict))
    elif body.strip() and (strict or kind == "application/json"):
        values.update(from_json(body, strict))
    return Params(values)


def from_json(body: bytes, strict: bool = False) -> dict[str, str]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        if strict:
            raise Unparsable("can't parse JSON object") from exc
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


def from_multipart(content_type: str, body: bytes, strict: bool = False) -> dict[str, str]:
    """Text fields only: the intercepted methods take no files worth reading."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if strict and is_cut(message.defects, body):
        raise Unparsable("can't parse multipart/form-data body")
    values = {}
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        if name and part.get_filename() is None:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                values[str(name)] = payload.decode("utf-8", "replace")
    return values


def is_cut(defects: list, body: bytes) -> bool:
    """A multipart body that ends before its closing boundary, or is no multipart at all; an
    empty form (nothing, or the closing boundary alone) is fine."""
    if any(isinstance(d, errors.CloseBoundaryNotFoundDefect) for d in defects):
        return True
    unstarted = any(isinstance(d, errors.StartBoundaryNotFoundDefect) for d in defects)
    return unstarted and not body.strip().endswith(b"--")


def peeked_chat_id(query: bytes, content_type: str, prefix: bytes, whole: bool) -> str | None:
    """The call's chat_id from its query string and the first bytes of its body: all of a
    JSON or form body that is `whole`, the complete parts of a multipart one."""
    kind = content_type.partition(";")[0].strip().lower()
    if not whole and kind == "multipart/form-data":
        prefix = complete_parts(content_type, prefix)
    elif not whole:
        prefix = b""
    chat_id = parse(query, content_type, prefix).values.get("chat_id")
    return chat_id if chat_id else None


def complete_parts(content_type: str, prefix: bytes) -> bytes:
    """The parts of a multipart body that end within `prefix`, closed as a whole body."""
    boundary = (
        BytesParser(policy=HTTP)
        .parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n")
        .get_param("boundary")
    )
    if not isinstance(boundary, str) or not boundary:
        return b""
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    end = prefix.rfind(delimiter)
    return prefix[:end] + delimiter + b"--\r\n" if end > 0 else b""
