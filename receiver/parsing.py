"""From request bytes to an UpdateInfo: content type, strict JSON, the update model."""

from __future__ import annotations

import json
from typing import Any

from core.updates import InvalidUpdate, Schema, UpdateInfo, describe


class Rejected(Exception):
    """A request refused before anything was stored; `outcome` names it for metrics."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message


def is_json_content_type(value: str | None) -> bool:
    """application/json, parameters such as `; charset=utf-8` allowed."""
    if not value:
        return False
    return value.split(";", 1)[0].strip().lower() == "application/json"


def reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_update(body: bytes, schema: Schema) -> tuple[dict, UpdateInfo]:
    """Strict JSON (UTF-8, no NaN/Infinity) holding an object with a valid update_id."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=reject_constant)
    except (ValueError, RecursionError) as exc:
        # ValueError covers bad UTF-8, bad JSON and integers past Python's digit limit.
        raise Rejected("bad_request", f"body is not valid JSON: {type(exc).__name__}") from None
    try:
        return data, describe(data, schema)
    except InvalidUpdate as exc:
        raise Rejected("bad_request", str(exc)) from None
    except RecursionError:
        raise Rejected("bad_request", "update nested too deeply") from None
