"""Which bodies name a user or chat: ids as user/chat objects, not digits in text."""

from __future__ import annotations

import json

import pytest

from core.privacy import Subject, names

USER = Subject("user", 4242)


@pytest.mark.parametrize(
    ("update", "named"),
    [
        ({"message": {"from": {"id": 4242}, "text": "hi"}}, True),
        ({"message": {"chat": {"id": 4242}}}, True),
        ({"message": {"reply_to_message": {"from": {"id": 4242}}}}, True),
        ({"message": {"entities": [{"type": "text_mention", "user": {"id": 4242}}]}}, True),
        ({"message": {"contact": {"phone_number": "+1", "user_id": 4242}}}, True),
        ({"message": {"from": {"id": 1}, "text": "call 4242"}}, False),
        ({"message": {"from": {"id": 42420}}}, False),
        ({"message": {"message_id": 4242, "from": {"id": 1}}}, False),
    ],
)
def test_names(update, named):
    assert names(json.dumps(update).encode(), USER) is named


def test_no_body_names_no_one_and_unparsable_bodies_go_by_the_digits():
    assert names(None, USER) is False
    assert names(b"not json 4242", USER) is True
    assert names(b"not json", USER) is False
