"""Bot API request parameters: every encoding Telegram accepts, read the way Telegram reads them.

Telegram merges the query string with a JSON, form-urlencoded or multipart body, and treats
every value as a string internally (objects arrive JSON-serialised in form encodings).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

MAX_BODY = 50 * 1024 * 1024


@dataclass
class Params:
    """Parameters of one call; `values` keeps what was sent (JSON typed, form values strings)."""

    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def text(self, name: str) -> str:
        return as_text(self.values.get(name))

    def integer(self, name: str, default: int = 0) -> int:
        return as_int(self.values.get(name), default)

    def flag(self, name: str) -> bool:
        return as_bool(self.values.get(name))

    def decoded(self, name: str) -> Any:
        """A JSON-typed parameter (allowed_updates, reply_markup) whatever the encoding."""
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return None
        return value


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def as_int(value: Any, default: int = 0) -> int:
    """td::to_integer semantics: a missing value is the default, garbage reads as 0."""
    text = as_text(value).strip()
    if not text:
        return default
    try:
        return int(float(text)) if "." in text else int(text)
    except ValueError:
        return 0


def as_bool(value: Any) -> bool:
    return as_text(value).strip().lower() in {"true", "yes", "1"}


def _maybe_json(value: str) -> Any:
    # Form encodings carry objects as JSON text; decode them so recorded calls are readable.
    stripped = value.strip()
    if stripped[:1] in "[{":
        try:
            return json.loads(stripped)
        except ValueError:
            return value
    return value


async def read_params(request: web.Request) -> Params:
    """Merge query-string and body parameters (the body wins, as with Telegram)."""
    params = Params({key: _maybe_json(val) for key, val in request.query.items()})
    if not request.body_exists:
        return params
    ctype = request.content_type
    if ctype == "multipart/form-data":
        await _read_multipart(request, params)
    elif ctype == "application/x-www-form-urlencoded":
        form = await request.post()
        params.values.update({key: _maybe_json(str(val)) for key, val in form.items()})
    else:
        _read_json(await request.read(), params)
    return params


def _read_json(raw: bytes, params: Params) -> None:
    # Telegram parses JSON bodies whatever the declared content type; non-objects are ignored.
    if not raw.strip():
        return
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ValueError("Can't parse JSON object") from exc
    if isinstance(body, dict):
        params.values.update(body)


async def _read_multipart(request: web.Request, params: Params) -> None:
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        data = await part.read(decode=True)
        if part.filename:
            params.files[part.name] = bytes(data)
        else:
            params.values[part.name] = _maybe_json(bytes(data).decode("utf-8", "replace"))
