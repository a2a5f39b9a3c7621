"""Logs carry ids, types and outcomes, never message content, at any level (issue 17 item 6):
accepted, deviating (a bad discriminator holding free text), malformed and rejected updates
go through the real app with the root logger at DEBUG."""

from __future__ import annotations

import json
import logging

CANARY = "CANARY log 51e7"


def test_no_content_in_any_log_record_at_debug(post_update, make_update, caplog):
    reaction = {"type": f"emoji {CANARY}", "emoji": CANARY}
    deviating = {
        "update_id": 3,
        "message_reaction": {
            "chat": {"id": 5, "type": "private"},
            "message_id": 1,
            "date": 1,
            "old_reaction": [],
            "new_reaction": [reaction],
        },
    }
    with caplog.at_level(logging.DEBUG):
        assert post_update(make_update(1, text=CANARY)).status_code == 200
        assert post_update(make_update(2, caption=CANARY)).status_code == 200
        assert post_update(deviating).status_code == 200
        post_update(b'{"update_id": 4, "message": {"text": "' + CANARY.encode())  # broken JSON
        post_update({"message": {"text": CANARY}})  # no update_id
        post_update(json.dumps({"update_id": 6, "x": CANARY}).encode())  # unknown type
    logged = "\n".join(caplog.text.splitlines() + [r.getMessage() for r in caplog.records])
    assert "deviates from the spec" in logged, "the deviation was logged: the test can fail"
    assert CANARY not in logged
