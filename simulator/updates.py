"""Realistic Bot API objects (users, chats, messages, callback and inline queries) for one bot."""

from __future__ import annotations

import random
import time
from typing import Any

SHORTHAND_KEYS = frozenset(
    {"type", "chat_id", "user_id", "text", "data", "query", "date", "message_id"}
)
_FIRST = ("Alice", "Bob", "Carol", "Dmitri", "Emma", "Farid", "Giulia", "Hiro", "Ines", "Jonas")
_LAST = ("Smith", "Ivanova", "Rossi", "Tanaka", "Garcia", "Müller", "", "")
_LANGS = ("en", "ru", "de", "es", "it", "pt-br", "uk")


class UpdateFactory:
    """Builds update bodies and remembers the chats, users and message ids they mention."""

    def __init__(self, bot_user: dict[str, Any], rng: random.Random) -> None:
        self.bot_user = bot_user
        self.rng = rng
        self.chats: dict[int, dict[str, Any]] = {}
        self._last_message_id: dict[int, int] = {}

    def user(self, user_id: int) -> dict[str, Any]:
        pick = random.Random(user_id)  # same id, same person, whatever the call order
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": pick.choice(_FIRST)}
        last = pick.choice(_LAST)
        if last:
            user["last_name"] = last
        if pick.random() < 0.7:
            user["username"] = f"{user['first_name'].lower()}_{user_id % 10000}"
        user["language_code"] = pick.choice(_LANGS)
        return user

    def chat(self, chat_id: int) -> dict[str, Any]:
        """Private chat for a positive id (the user's own id), a supergroup for a negative one."""
        if chat_id not in self.chats:
            if chat_id > 0:
                person = self.user(chat_id)
                chat: dict[str, Any] = {
                    k: person[k]
                    for k in ("id", "first_name", "last_name", "username")
                    if k in person
                }
                chat["type"] = "private"
            else:
                chat = {
                    "id": chat_id,
                    "title": f"Group {abs(chat_id) % 100000}",
                    "type": "supergroup",
                }
            self.chats[chat_id] = chat
        return self.chats[chat_id]

    def next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def message(
        self, chat_id: int, text: str, user_id: int | None = None, date: int | None = None
    ) -> dict[str, Any]:
        return self._compose(chat_id, text, user_id, date, self.next_message_id(chat_id))

    def edited_message(
        self, chat_id: int, text: str, message_id: int | None = None
    ) -> dict[str, Any]:
        """An edit of one of the chat's recent messages (a new one if the chat has none)."""
        last = self._last_message_id.get(chat_id) or self.next_message_id(chat_id)
        edited = message_id or max(1, last - self.rng.randint(0, min(last - 1, 3)))
        now = int(time.time())
        msg = self._compose(chat_id, text, None, now - self.rng.randint(5, 600), edited)
        msg["edit_date"] = now
        return msg

    def _compose(
        self, chat_id: int, text: str, user_id: int | None, date: int | None, message_id: int
    ) -> dict[str, Any]:
        sender = user_id or (chat_id if chat_id > 0 else self._member_of(chat_id))
        msg: dict[str, Any] = {
            "message_id": message_id,
            "from": self.user(sender),
            "chat": self.chat(chat_id),
            "date": date or int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            msg["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
        return msg

    def bot_message(self, chat_id: int, text: str, reply_markup: Any = None) -> dict[str, Any]:
        """A message the bot sent (sendMessage answer, callback source)."""
        msg: dict[str, Any] = {
            "message_id": self.next_message_id(chat_id),
            "from": self.bot_user,
            "chat": self.chat(chat_id),
            "date": int(time.time()),
            "text": text,
        }
        if isinstance(reply_markup, dict) and "inline_keyboard" in reply_markup:
            msg["reply_markup"] = reply_markup  # only inline keyboards are echoed back
        return msg

    def callback_query(self, chat_id: int, data: str, user_id: int | None = None) -> dict[str, Any]:
        sender = user_id or (chat_id if chat_id > 0 else self._member_of(chat_id))
        keyboard = {"inline_keyboard": [[{"text": "Press", "callback_data": data}]]}
        return {
            "id": str(self.rng.randint(10**17, 10**19)),
            "from": self.user(sender),
            "message": self.bot_message(chat_id, "Choose:", keyboard),
            "chat_instance": str(self.rng.randint(-(10**18), 10**18)),
            "data": data,
        }

    def inline_query(self, user_id: int, query: str) -> dict[str, Any]:
        return {
            "id": str(self.rng.randint(10**17, 10**19)),
            "from": self.user(user_id),
            "query": query,
            "offset": "",
            "chat_type": "sender",
        }

    def from_shorthand(self, spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """`{"text": "hi", "chat_id": 5}` style spec -> (type, body)."""
        kind = spec.get("type") or _implied_type(spec)
        chat_id = int(spec.get("chat_id") or spec.get("user_id") or 1000001)
        user_id = int(spec["user_id"]) if spec.get("user_id") else None
        text = str(spec.get("text", "hello"))
        if kind == "message":
            return kind, self.message(chat_id, text, user_id, spec.get("date"))
        if kind == "edited_message":
            return kind, self.edited_message(chat_id, text, spec.get("message_id"))
        if kind == "callback_query":
            return kind, self.callback_query(chat_id, str(spec.get("data", "button")), user_id)
        if kind == "inline_query":
            return kind, self.inline_query(user_id or chat_id, str(spec.get("query", text)))
        raise ValueError(f"shorthand cannot build type {kind!r}; send a full update object")

    def _member_of(self, chat_id: int) -> int:
        # A stable handful of members per group.
        return 10**8 + (abs(chat_id) * 7 + self.rng.randint(0, 4)) % (9 * 10**8)


def _implied_type(spec: dict[str, Any]) -> str:
    if "data" in spec:
        return "callback_query"
    if "query" in spec:
        return "inline_query"
    return "message"


def is_shorthand(item: dict[str, Any]) -> bool:
    return bool(item) and set(item) <= SHORTHAND_KEYS
