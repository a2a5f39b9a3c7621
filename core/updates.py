"""The update model: what type an update is, which chat it belongs to, and how it deviates
from the Bot API spec (core/data/api.min.json, Bot API 10.1, MIT: see
LICENSE.telegram-bot-api-spec).

Deviations are reported, never rejected: Telegram adds types and fields, and a webhook that
answers non-2xx makes Telegram retry the same update until it expires.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

TAG_LIKE = re.compile(r"[a-z_]{1,32}")

SPEC_PATH = Path(__file__).parent / "data" / "api.min.json"
MAX_UPDATE_ID = 2**31 - 1
MAX_DEPTH = 48
# Where each update type's ordering key lives, tried in turn: one chat (or one user) is
# delivered in order. A test requires an entry for every Update field of the spec.
CHAT = (("chat",),)
FROM = (("from",),)
MESSAGE = CHAT
CHAT_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "message": MESSAGE,
    "edited_message": MESSAGE,
    "channel_post": MESSAGE,
    "edited_channel_post": MESSAGE,
    "business_connection": (("user",),),
    "business_message": MESSAGE,
    "edited_business_message": MESSAGE,
    "deleted_business_messages": CHAT,
    "guest_message": MESSAGE,
    "message_reaction": CHAT,
    "message_reaction_count": CHAT,
    "inline_query": FROM,
    "chosen_inline_result": FROM,
    # A button under a message belongs to that message's chat; an inline message's to the user.
    "callback_query": (("message", "chat"), ("from",)),
    "shipping_query": FROM,
    "pre_checkout_query": FROM,
    "purchased_paid_media": FROM,
    "poll": (),  # a poll's state belongs to no chat: each update is its own key
    # Votes on behalf of a chat carry a placeholder `user` (136817688) shared by all of them.
    "poll_answer": (("voter_chat",), ("user",)),
    "my_chat_member": CHAT,
    "chat_member": CHAT,
    "chat_join_request": CHAT,
    "chat_boost": CHAT,
    "removed_chat_boost": CHAT,
    "managed_bot": (("user",),),
}
# Types Telegram may add before the spec knows them: the first path that names a chat or user.
FALLBACK_PATHS = (("chat",), ("message", "chat"), ("from",), ("user",))
# Union types whose alternative is told by a value, not by a `type`-like field.
MESSAGE_UNION = "MaybeInaccessibleMessage"  # `date` is 0 exactly for an inaccessible message
TAG_FIELDS = ("type", "status", "source")
TAG_VALUE = re.compile(r'(?:always|must be) \W?"?([a-z0-9_]+)')


class InvalidUpdate(ValueError):
    """The body is not an update at all (400): not an object, or no usable update_id."""


@dataclass(frozen=True)
class UpdateInfo:
    update_id: int
    type: str  # a known update field name, or "unknown"
    chat_key: str  # ordering key: chat id, user id, or "update:<id>" when there is neither
    deviations: tuple[str, ...]

    @property
    def conforms(self) -> bool:
        return not self.deviations and self.type != "unknown"


@dataclass(frozen=True)
class Schema:
    version: str
    fields: dict[str, dict[str, tuple[str, ...]]]
    required: dict[str, frozenset[str]]
    subtypes: dict[str, tuple[str, ...]]
    # Union -> (discriminating field, {its value: alternatives with that value}).
    tags: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = field(default_factory=dict)

    @property
    def update_types(self) -> tuple[str, ...]:
        return tuple(name for name in self.fields["Update"] if name != "update_id")


@cache
def load_schema(path: Path = SPEC_PATH) -> Schema:
    data = json.loads(path.read_text(encoding="utf-8"))
    fields, required, subtypes = {}, {}, {}
    for name, spec in data["types"].items():
        fields[name] = {f["name"]: tuple(f["types"]) for f in spec.get("fields", ())}
        required[name] = frozenset(f["name"] for f in spec.get("fields", ()) if f["required"])
        subtypes[name] = tuple(spec.get("subtypes", ()))
    tags = {union: tags_of(data["types"], alternatives) for union, alternatives in subtypes.items()}
    known = {union: found for union, found in tags.items() if found is not None}
    return Schema(data["version"], fields, required, subtypes, known)


def tags_of(
    types: dict[str, Any], alternatives: tuple[str, ...]
) -> tuple[str, dict[str, tuple[str, ...]]] | None:
    """How the spec tells a union's object alternatives apart: the field every one of them
    requires and documents as 'always "<value>"'; None when there is no such field."""
    for name in TAG_FIELDS:
        table: dict[str, tuple[str, ...]] = {}
        for alternative in alternatives:
            value = tag_value(types.get(alternative, {}), name)
            if value is not None:
                table[value] = (*table.get(value, ()), alternative)
        objects = [a for a in alternatives if a in types and types[a].get("fields")]
        if table and sum(map(len, table.values())) == len(objects):
            return name, table
    return None


def tag_value(spec: dict, name: str) -> str | None:
    for item in spec.get("fields", ()):
        if item["name"] == name and item["required"]:
            text = item["description"]
            found = TAG_VALUE.search(" ".join(text) if isinstance(text, list) else text)
            return found.group(1) if found else None
    return None


def describe(update: Any, schema: Schema | None = None) -> UpdateInfo:
    """Classify a parsed JSON body; raise InvalidUpdate when it cannot be an update."""
    schema = schema or load_schema()
    if not isinstance(update, dict):
        raise InvalidUpdate("body must be a JSON object")
    update_id = update.get("update_id")
    if type(update_id) is not int or not 0 <= update_id <= MAX_UPDATE_ID:
        raise InvalidUpdate("update_id must be an integer in 0..2^31-1")
    present = [key for key in update if key != "update_id"]
    known = [key for key in present if key in schema.fields["Update"]]
    deviations: tuple[str, ...]
    if len(known) != 1:
        kind = "unknown"
        deviations = (f"expected exactly one known update field, got {sorted(present)}",)
    else:
        kind = known[0]
        deviations = tuple(
            check_value(update[kind], schema.fields["Update"][kind], kind, schema, 0, {})
        )
    return UpdateInfo(update_id, kind, chat_key_of(update, kind, update_id), deviations)


def chat_key_of(update: dict, kind: str, update_id: int) -> str:
    body = update.get(kind)
    if isinstance(body, dict):
        for path in CHAT_PATHS.get(kind, FALLBACK_PATHS):
            node: Any = body
            for step in path:
                node = node.get(step) if isinstance(node, dict) else None
            if isinstance(node, dict) and type(node.get("id")) is int:
                return str(node["id"])
    return f"update:{update_id}"


def check_value(
    value: Any,
    types: tuple[str, ...],
    where: str,
    schema: Schema,
    depth: int = 0,
    memo: dict | None = None,
) -> list[str]:
    """Deviations of value from any of the spec types (empty list: it matches one)."""
    if depth > MAX_DEPTH:
        return [f"{where}: nested deeper than {MAX_DEPTH}"]
    # Union types nest (RichText has 27 alternatives): without the memo, every alternative
    # re-checks the same subtree and the cost is exponential in the nesting.
    memo = {} if memo is None else memo
    if len(types) == 1:
        return best_match(value, types, where, schema, depth, memo)
    key = (id(value), types, where, depth)
    if key not in memo:
        memo[key] = tuple(best_match(value, types, where, schema, depth, memo))
    return list(memo[key])


def best_match(
    value: Any, types: tuple[str, ...], where: str, schema: Schema, depth: int, memo: dict
) -> list[str]:
    best: list[str] | None = None
    for name in types:
        problems = check_one(value, name, where, schema, depth, memo)
        if not problems:
            return []
        if best is None or len(problems) < len(best):
            best = problems
    return best or []


def check_one(
    value: Any, name: str, where: str, schema: Schema, depth: int, memo: dict
) -> list[str]:
    if name.startswith("Array of "):
        if not isinstance(value, list):
            return [f"{where}: expected an array"]
        inner = (name.removeprefix("Array of "),)
        problems: list[str] = []
        for index, item in enumerate(value):
            problems += check_value(item, inner, f"{where}[{index}]", schema, depth + 1, memo)
        return problems
    if name in SCALARS:
        return [] if SCALARS[name](value) else [f"{where}: expected {name}"]
    if schema.subtypes.get(name):
        return check_union(value, name, where, schema, depth, memo)
    return check_object(value, name, where, schema, depth, memo)


def check_union(
    value: Any, name: str, where: str, schema: Schema, depth: int, memo: dict
) -> list[str]:
    """Check against the alternative the value says it is (its `type`, `status` or `source`),
    as Telegram's clients do; best fit only where the spec gives no discriminator."""
    alternatives = schema.subtypes[name]
    if isinstance(value, dict) and name == MESSAGE_UNION:
        alternatives = alternatives[1:] if value.get("date") == 0 else alternatives[:1]
    elif isinstance(value, dict) and name in schema.tags:
        tag, table = schema.tags[name]
        if tag not in value:
            return [f"{where}.{tag}: required"]
        if not isinstance(value[tag], str) or value[tag] not in table:
            return [f"{where}.{tag}: {shown_tag(value[tag])} is not one of {sorted(table)}"]
        alternatives = table[value[tag]]
    return check_value(value, alternatives, where, schema, depth + 1, memo)


def shown_tag(value: Any) -> str:
    # Deviations are logged: quote a value only when it looks like a tag, never free text.
    return repr(value) if isinstance(value, str) and TAG_LIKE.fullmatch(value) else "a value"


def check_object(
    value: Any, name: str, where: str, schema: Schema, depth: int, memo: dict
) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected {name} object"]
    problems = [
        f"{where}.{key}: required"
        for key in sorted(schema.required.get(name, ()))
        if key not in value
    ]
    fields = schema.fields.get(name, {})
    for key, item in value.items():
        if key in fields:  # unknown fields are fine: Telegram adds them between spec releases
            problems += check_value(item, fields[key], f"{where}.{key}", schema, depth + 1, memo)
    return problems


SCALARS = {
    "Integer": lambda v: type(v) is int,
    "Float": lambda v: type(v) in (int, float),
    "String": lambda v: isinstance(v, str),
    "Boolean": lambda v: isinstance(v, bool),
}
