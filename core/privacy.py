"""Pure privacy rules: which stored update names a given user or chat.

A chat or user appears in an update as an object with an `id` (`from`, `chat`, `sender_chat`,
`reply_to_message.from`, an entity's `user`, `new_chat_members`...) or as a contact's
`user_id`; the chat key column holds the chat id, or the user id when there is no chat.
Matching parsed JSON on those keys, rather than the digits anywhere in the text, keeps a
message that merely quotes the number from being erased.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

ID_KEYS = ("id", "user_id")


@dataclass(frozen=True)
class Subject:
    """Whom to forget: `kind` is "user" or "chat" (the audit keeps only that)."""

    kind: str
    ident: int

    @property
    def key(self) -> str:
        return str(self.ident)


def names(body: bytes | None, subject: Subject) -> bool:
    """True when the body mentions the subject's id as a user or chat object."""
    if body is None:
        return False
    if subject.key.encode() not in body:  # the cheap test first: most bodies don't
        return False
    try:
        parsed = json.loads(body)
    except ValueError:  # not JSON (stored as received): the digits are all we can go on
        return True
    return any(value == subject.ident for value in ids_in(parsed))


def ids_in(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in ID_KEYS and isinstance(inner, int) and not isinstance(inner, bool):
                yield inner
            else:
                yield from ids_in(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from ids_in(inner)


def keyed(chat_key: str, key: str) -> str:
    """The chat key as stored: with TGWEBHOOK_CHAT_KEY_HMAC_KEY set, an HMAC-SHA256 of it, so
    rows still group by chat (per-chat order holds) without saying which chat."""
    if not key:
        return chat_key
    return "h:" + hmac.new(key.encode(), chat_key.encode(), hashlib.sha256).hexdigest()[:32]
