"""TGWEBHOOK_CHAT_KEY_HMAC_KEY: the chat key column holds an HMAC of the chat id, so rows still
group by chat (per-chat order) without naming it; `privacy forget` finds them under the key."""

from __future__ import annotations

import pytest

from app import create_app
from core.erasure import forget
from core.privacy import Subject, keyed

KEY = "hmac-key-for-tests"


def test_keyed_is_stable_per_key_and_the_identity_without_one():
    assert keyed("4242", "") == "4242"
    assert keyed("4242", KEY) == keyed("4242", KEY) != keyed("4243", KEY)
    assert keyed("4242", KEY) != keyed("4242", "another key")
    assert "4242" not in keyed("4242", KEY)


@pytest.fixture
def keyed_app(make_settings):
    app = create_app(make_settings(chat_key_hmac_key=KEY))
    yield app
    app.extensions["tgwebhook.store"].close()


def test_stored_chat_keys_are_hmacs_and_forget_finds_them(keyed_app, make_update, capsys):
    from tests.helpers.support import SECRET

    client, store = keyed_app.test_client(), keyed_app.extensions["tgwebhook.store"]
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    for update_id, chat in ((1, 4242), (2, 4242), (3, 99)):
        answer = client.post(
            "/webhook/default", json=make_update(update_id, chat_id=chat), headers=headers
        )
        assert answer.status_code == 200
    keys = {row[0]: row[1] for row in store.read("SELECT update_id, chat_key FROM updates")}
    assert keys == {1: keyed("4242", KEY), 2: keyed("4242", KEY), 3: keyed("99", KEY)}
    # make_update's sender is user 1111 in every update: forget the chat, not the user.
    assert forget(store, Subject("chat", 4242), dry_run=False, yes=True, key=KEY) == 0
    assert [row[0] for row in store.read("SELECT update_id FROM updates")] == [3]
    assert "erased 2 update(s)" in capsys.readouterr().out
