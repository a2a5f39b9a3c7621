"""What the console shows of an update's content: its shape, with every personal value replaced.

Redacted by default, for every role; only the operator's audited "reveal" shows the body as
stored. An allow-list, not a block-list: a value is shown only under a key known to carry no
personal content, so a field Telegram adds tomorrow is hidden until someone decides otherwise.
"""

from __future__ import annotations

import json
from typing import Any

REDACTED = "[redacted]"
# Scalars that describe the update's shape and timing, never who wrote what or where.
SAFE_KEYS = frozenset(
    {
        "update_id",
        "message_id",
        "date",
        "edit_date",
        "type",
        "is_bot",
        "is_premium",
        "language_code",
        "mime_type",
        "file_size",
        "width",
        "height",
        "duration",
        "offset",
        "length",
        "status",
        "media_group_id",
    }
)


def redacted(body: bytes | None) -> str:
    """The body as indented JSON with personal values replaced; '' when there is none."""
    if body is None:
        return ""
    try:
        parsed = json.loads(body)
    except ValueError:  # not JSON: nothing can be shown safely
        return REDACTED
    return json.dumps(scrub(parsed), indent=2, ensure_ascii=False, sort_keys=True)


def scrub(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {inner_key: scrub(inner, inner_key) for inner_key, inner in value.items()}
    if isinstance(value, list):
        return [scrub(inner, key) for inner in value]
    return value if key in SAFE_KEYS else REDACTED


def error_shown(last_error: str | None, full: bool) -> str:
    """A delivery error as a viewer sees it: its head ("HTTP 500", "Timeout") only, as what
    follows may quote the bot's answer (and so a user's words); `full` (operators) shows all."""
    if not last_error or full:
        return last_error or ""
    head, colon, _ = last_error.partition(": ")
    return head + (f": {REDACTED}" if colon else "")
