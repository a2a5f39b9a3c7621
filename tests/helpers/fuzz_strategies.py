"""Hypothesis strategies for webhook requests, and the status policy as an oracle.

Updates are generated from the Bot API spec (`core.updates.load_schema()`); bodies and headers
cover what a hostile or broken sender can put on the wire: invalid UTF-8, deep nesting, huge
numbers, NaN/Infinity, duplicate keys, wrong types, megabyte strings, random content types and
secrets. Runs are derandomized so CI sees the same examples every time.
"""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from core.updates import MAX_UPDATE_ID, MESSAGE_UNION, load_schema
from tests.helpers.support import SECRET

SCHEMA = load_schema()
LIMIT = 1024 * 1024  # TGWEBHOOK_MAX_BODY_BYTES default
FREE_DEPTH = 3  # below this, optional fields and array items stop: spec objects are big
SCALAR_TYPES = {
    "Integer": st.integers(-(2**53), 2**53),
    "Float": st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**31), 2**31),
    "String": st.text(max_size=12),
    "Boolean": st.booleans(),
}


def fuzz_settings(max_examples: int) -> settings:
    """Fixed examples (derandomize) and no deadline: CI must be stable, and a megabyte body
    through gunicorn is slow but not wrong. One app or served instance serves every example."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


# -- the oracle: DESIGN.md's webhook status policy ------------------------------------------
def reject_constant(name: str) -> Any:
    raise ValueError(name)


def as_update(body: bytes) -> dict | None:
    """The body as an update (strict UTF-8 JSON object, integer update_id in 0..2^31-1)."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=reject_constant)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    update_id = value.get("update_id")
    if type(update_id) is not int or not 0 <= update_id <= MAX_UPDATE_ID:
        return None
    return value


def is_json_media_type(content_type: str | None) -> bool:
    return content_type is not None and (
        content_type.split(";", 1)[0].strip().lower() == "application/json"
    )


def expected_status(secret: str | None, content_type: str | None, body: bytes) -> int:
    if secret != SECRET:
        return 401
    if not is_json_media_type(content_type):
        return 415
    if len(body) > LIMIT:
        return 413
    return 200 if as_update(body) is not None else 400


# -- updates from the spec -------------------------------------------------------------------
def cheapest(alternatives: tuple[str, ...]) -> str:
    """The alternative that ends recursion soonest: a scalar, else the fewest required fields."""
    scalars = [name for name in alternatives if name in SCALAR_TYPES]
    if scalars:
        return scalars[0]
    objects = [name for name in alternatives if not name.startswith("Array of ")]
    return min(objects or alternatives, key=lambda name: len(SCHEMA.required.get(name, ())))


@st.composite
def spec_values(draw, type_name: str, depth: int = 0) -> Any:
    """A value of a spec type; past FREE_DEPTH only required fields, empty arrays, and the
    cheapest alternative of a union (so generation ends and stays small)."""
    if type_name in SCALAR_TYPES:
        return draw(SCALAR_TYPES[type_name])
    if type_name.startswith("Array of "):
        if depth >= FREE_DEPTH:
            return []
        inner = type_name.removeprefix("Array of ")
        return draw(st.lists(spec_values(inner, depth + 1), max_size=2))
    alternatives = SCHEMA.subtypes.get(type_name)
    if alternatives:
        chosen = (
            draw(st.sampled_from(alternatives)) if depth < FREE_DEPTH else cheapest(alternatives)
        )
        return tagged(type_name, chosen, draw(spec_values(chosen, depth + 1)))
    fields = SCHEMA.fields[type_name]
    names = sorted(SCHEMA.required[type_name])
    optional = sorted(set(fields) - set(names))
    if optional and depth < FREE_DEPTH:
        names += draw(st.lists(st.sampled_from(optional), max_size=3, unique=True))
    value = {}
    for name in names:
        types = fields[name]
        field_type = draw(st.sampled_from(types)) if depth < FREE_DEPTH else cheapest(types)
        value[name] = draw(spec_values(field_type, depth + 1))
    return value


def tagged(union: str, chosen: str, value: Any) -> Any:
    """The value as the union's chosen member says it is (its discriminator, or the zero
    date of an inaccessible message), as Telegram sends it."""
    if not isinstance(value, dict):
        return value
    if union == MESSAGE_UNION:
        return {**value, "date": 0 if chosen == "InaccessibleMessage" else value["date"] or 1}
    if union in SCHEMA.tags:
        tag, table = SCHEMA.tags[union]
        return {**value, tag: next(name for name, members in table.items() if chosen in members)}
    return value


update_ids = st.integers(0, MAX_UPDATE_ID)
update_kinds = st.sampled_from(SCHEMA.update_types)


@st.composite
def spec_updates(draw, ids=update_ids) -> dict:
    kind = draw(update_kinds)
    field_type = draw(st.sampled_from(SCHEMA.fields["Update"][kind]))
    return {"update_id": draw(ids), kind: draw(spec_values(field_type))}


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


def replace_somewhere(value: Any, path: list[int], new: Any) -> Any:
    """`value` with the node that `path` picks (each step an index modulo the branch count)
    replaced by `new`; a wrong type, a null, an object where a string belongs..."""
    if not path or not isinstance(value, dict | list) or not value:
        return new
    keys = list(value) if isinstance(value, dict) else list(range(len(value)))
    key = keys[path[0] % len(keys)]
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[key] = replace_somewhere(value[key], path[1:], new)
    return copy


@st.composite
def odd_shaped_updates(draw) -> dict:
    """Objects with a valid update_id and anything else: wrong field types, unknown update
    types, several update fields, extra keys. Telegram-side deviations: all must get 2xx."""
    update = draw(spec_updates())
    kind = next(key for key in update if key != "update_id")
    shape = draw(st.sampled_from(["wrong_type", "unknown_type", "two_kinds", "extra_keys"]))
    if shape == "wrong_type":
        path = draw(st.lists(st.integers(0, 50), min_size=1, max_size=4))
        update[kind] = replace_somewhere(update[kind], path, draw(json_values))
    elif shape == "unknown_type":
        update = {
            "update_id": update["update_id"],
            draw(st.text(min_size=1, max_size=20)): update[kind],
        }
    elif shape == "two_kinds":
        update[draw(update_kinds)] = draw(json_values)
    else:
        update.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3)))
    return update


# -- bodies on the wire ------------------------------------------------------------------------
odd_update_ids = st.one_of(
    update_ids,
    st.integers(-(10**30), 10**30),
    st.sampled_from([-1, MAX_UPDATE_ID + 1, 2**63, 10**4299]),
    st.floats(),  # NaN and Infinity included: json.dumps writes them as bare tokens
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.lists(update_ids, max_size=2),
)


@st.composite
def id_bodies(draw) -> bytes:
    """A plausible update whose update_id may be of any type or size."""
    body = {
        "update_id": draw(odd_update_ids),
        "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}, "text": "hi"},
    }
    return json.dumps(body).encode()


@st.composite
def duplicate_key_bodies(draw) -> bytes:
    first, second = draw(odd_update_ids), draw(odd_update_ids)
    body = (
        f'{{"update_id": {json.dumps(first)}, "message": {{}}, "update_id": {json.dumps(second)}}}'
    )
    return body.encode()


@st.composite
def deep_bodies(draw) -> bytes:
    # Depths far from Python's recursion limit (1000): the server's and this process's call
    # stacks differ, so a depth near it could go either way.
    depth = draw(st.sampled_from([1, 10, 47, 49, 200, 5_000, 100_000, 500_000]))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}"), (b'{"text":', b"}")]))
    inner = opener * depth + b"1" + closer * depth
    field = draw(st.sampled_from([b"message", b"callback_query", b"unknown_kind"]))
    return b'{"update_id": 7, "' + field + b'": ' + inner + b"}"


@st.composite
def invalid_utf8_bodies(draw) -> bytes:
    good = json.dumps(draw(spec_updates())).encode()
    bad = draw(
        st.sampled_from(
            [b"\xff", b"\xc3\x28", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]
        )
    )
    cut = good.rindex(b"}")
    return good[:cut] + b', "x": "' + bad + b'"' + good[cut:]


@st.composite
def sized_bodies(draw) -> bytes:
    """A valid update padded with a string to just under, at, or over the body limit."""
    target = draw(st.sampled_from([LIMIT - 1, LIMIT, LIMIT + 1, 2 * LIMIT, 300_000]))
    head = b'{"update_id": ' + str(draw(update_ids)).encode() + b', "message": {"text": "'
    tail = b'"}}'
    return head + b"a" * (target - len(head) - len(tail)) + tail


raw_bodies = st.one_of(
    st.binary(max_size=64),
    st.builds(lambda v: json.dumps(v).encode(), json_values),
    st.builds(lambda u: json.dumps(u).encode(), spec_updates()),
    st.builds(lambda u: json.dumps(u).encode(), odd_shaped_updates()),
    id_bodies(),
    duplicate_key_bodies(),
    deep_bodies(),
    invalid_utf8_bodies(),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b'"update_id"',
            b"1",
            b"{}",
            b'{"update_id": NaN}',
            b'{"update_id": Infinity}',
            b'{"update_id": 1, "x": -Infinity}',
            b'\xef\xbb\xbf{"update_id": 1}',
            b' \n{"update_id": 5}\n ',
        ]
    ),
)

# -- headers -----------------------------------------------------------------------------------
HEADER_TEXT = string.ascii_letters + string.digits + string.punctuation
secrets = st.one_of(
    st.just(SECRET),
    st.none(),
    st.sampled_from(["", SECRET.upper(), SECRET[:-1], SECRET + "x", SECRET + "," + SECRET]),
    st.text(alphabet=HEADER_TEXT, max_size=300),
)
content_types = st.one_of(
    st.just("application/json"),
    st.none(),
    st.sampled_from(
        [
            "application/json; charset=utf-8",
            "APPLICATION/JSON",
            "application/json;x=y",
            "application/jsonx",
            "text/json",
            "text/plain",
            "application/*",
            "",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=b",
            "application/json, text/plain",
            "application/problem+json",
        ]
    ),
    st.text(alphabet=HEADER_TEXT + " ", max_size=40),
)
