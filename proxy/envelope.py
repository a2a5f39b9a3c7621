"""Telegram's JSON envelope, byte for byte as the Bot API server writes it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = field(default=())


def ok(result: Any, description: str = "") -> Answer:
    payload: dict[str, Any] = {"ok": True, "result": result}
    if description:
        payload["description"] = description
    return Answer(200, dumps(payload))


def ok_raw(result_json: bytes) -> Answer:
    return Answer(200, b'{"ok":true,"result":' + result_json + b"}")


def error(code: int, description: str, retry_after: int | None = None) -> Answer:
    payload: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is None:
        return Answer(code, dumps(payload))
    payload["parameters"] = {"retry_after": retry_after}
    return Answer(code, dumps(payload), ((b"retry-after", str(retry_after).encode()),))


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


UNAUTHORIZED = error(401, "Unauthorized")
NOT_FOUND = error(404, "Not Found")
