"""How long judging one update against the Bot API spec may take.

A worker thread busy in the checker answers nobody; Telegram gives up after 60 s and sends the
update again. The cost must stay in milliseconds for any body under the size limit, including
the shapes that nest union types (RichText has 27 alternatives, RichBlock 21). Each case runs in
a child process, so a slow one is killed at its deadline instead of burning CPU for the rest
of the suite.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers.support import ROOT

DEADLINE_SECONDS = 4.0  # the child's start-up included; a healthy case takes ~0.3 s in all
BUDGET_SECONDS = 0.5
JUDGE = """
import sys, time
from core.updates import load_schema
from receiver.parsing import parse_update
schema, body = load_schema(), sys.stdin.buffer.read()
started = time.perf_counter()
parse_update(body, schema)
print(time.perf_counter() - started)
"""


def rich_message(*blocks: object) -> dict:
    message = {
        "message_id": 1,
        "date": 1,
        "chat": {"id": 1, "type": "private"},
        "rich_message": {"blocks": list(blocks)},
    }
    return {"update_id": 1, "message": message}


def rich_text(depth: int, leaf: object) -> object:
    kinds = ("bold", "italic", "underline", "strikethrough", "spoiler", "marked")
    for level in range(depth):
        leaf = {"type": kinds[level % len(kinds)], "text": leaf}
    return leaf


def untyped_blocks(depth: int) -> dict:
    node: dict = {"blocks": []}
    for _ in range(depth):
        node = {"blocks": [node]}
    return node


def entities(count: int) -> dict:
    message = {
        "message_id": 1,
        "date": 1,
        "chat": {"id": 1, "type": "private"},
        "entities": [{"type": "bold", "offset": "0", "length": 1}] * count,
    }
    return {"update_id": 1, "message": message}


CASES = {
    # Formatting nested five deep around a rich-text kind newer than the spec (312 bytes).
    "rich_text_5_deep_around_a_new_kind": rich_message(
        {"type": "paragraph", "text": rich_text(5, {"type": "sparkles", "emoji": "*"})}
    ),
    "rich_text_6_deep_around_a_number": rich_message(
        {"type": "paragraph", "text": rich_text(6, 7)}
    ),
    "rich_blocks_10_deep_without_their_type": rich_message(untyped_blocks(10)),
    # Valid by the spec, just deeper than the checker's depth cap (48 levels of check calls).
    "valid_rich_text_40_deep": rich_message({"type": "paragraph", "text": rich_text(40, "hi")}),
    "valid_rich_text_12_deep": rich_message({"type": "paragraph", "text": rich_text(12, "hi")}),
    "a_megabyte_of_malformed_entities": entities(25_000),
}


def judging_seconds(body: bytes) -> float:
    try:
        result = subprocess.run(
            [sys.executable, "-c", JUDGE],
            input=body,
            cwd=ROOT,
            capture_output=True,
            timeout=DEADLINE_SECONDS,
            check=True,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"judging this {len(body)}-byte update took longer than {DEADLINE_SECONDS} s")
    return float(result.stdout)


@pytest.mark.parametrize("update", CASES.values(), ids=CASES.keys())
def test_judging_an_update_against_the_spec_takes_milliseconds(update):
    assert judging_seconds(json.dumps(update).encode()) < BUDGET_SECONDS
