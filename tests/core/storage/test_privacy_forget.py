"""`privacy forget` on both backends: every row naming the user goes, dead letters included;
a message merely quoting the number stays; the audit row names no one."""

from __future__ import annotations

import json
import subprocess
import sys

from core.erasure import forget
from core.privacy import Subject
from core.storage import IncomingUpdate
from core.storage.privacy import audit_rows
from tests.helpers.support import ROOT, SECRET

NOW = 1_700_000_000.0
USER = 4242
OTHER = {"id": 777, "is_bot": False, "first_name": "Bo"}
ME = {"id": USER, "is_bot": False, "first_name": "CANARY-name"}


def message(update_id: int, chat: int, sender: dict, **extra) -> bytes:
    body = {"message_id": update_id, "date": 1, "chat": {"id": chat, "type": "group"}}
    return json.dumps(
        {"update_id": update_id, "message": {**body, "from": sender, **extra}}
    ).encode()


def put(store, update_id: int, chat: int, body: bytes, forward: bool = True) -> None:
    update = IncomingUpdate("default", update_id, "message", str(chat), body, NOW, True)
    assert store.record_update(update, forward=forward)


def seed(store) -> None:
    put(store, 1, USER, message(1, USER, ME, text="private"))  # the user's own chat
    put(store, 2, -100, message(2, -100, ME, text="in a group"))  # their message elsewhere
    reply = {"message_id": 2, "date": 1, "chat": {"id": -100, "type": "group"}, "from": ME}
    put(store, 3, -100, message(3, -100, OTHER, text="re", reply_to_message=reply))
    put(store, 4, -100, message(4, -100, OTHER, text=f"my pin is {USER}"))  # only quotes it
    put(store, 5, -200, message(5, -200, ME, text="dead"))
    [dead] = [u for u in store.claim_due("default", NOW, 10, NOW + 30, "me") if u.update_id == 5]
    store.record_dead(dead.id, "me", "HTTP 500")
    put(store, 6, -300, message(6, -300, OTHER, text="unrelated"))


def left(store) -> dict[int, bytes | None]:
    rows = store.read("SELECT update_id, body FROM updates")
    return {row[0]: None if row[1] is None else bytes(row[1]) for row in rows}


def test_forget_a_user_removes_every_row_naming_them_and_audits_without_naming_them(
    any_store, capsys
):
    seed(any_store)
    assert forget(any_store, Subject("user", USER), dry_run=True, yes=False) == 0
    assert "4 stored update(s) name this user" in capsys.readouterr().out
    assert len(left(any_store)) == 6, "a dry run erases nothing"
    assert forget(any_store, Subject("user", USER), dry_run=False, yes=False) == 1
    assert len(left(any_store)) == 6, "waiting updates need --yes"
    assert forget(any_store, Subject("user", USER), dry_run=False, yes=True) == 0
    remaining = left(any_store)
    assert sorted(remaining) == [4, 6]
    assert all(b"CANARY-name" not in body for body in remaining.values() if body)
    [audit] = audit_rows(any_store)
    assert (audit.scope, audit.rows_removed, audit.bodies_removed) == ("user", 4, 4)
    assert str(USER) not in repr(audit)


def test_forget_a_chat_removes_its_rows_only(any_store):
    seed(any_store)
    assert forget(any_store, Subject("chat", -100), dry_run=False, yes=True) == 0
    assert sorted(left(any_store)) == [1, 5, 6]
    assert [row.scope for row in audit_rows(any_store)] == ["chat"]


def test_the_command_on_sqlite(tmp_path):
    from core.storage import open_store

    db = tmp_path / "store.db"
    store = open_store(str(db))
    seed(store)
    store.close()
    env = {"TGWEBHOOK_DB": str(db), "TGWEBHOOK_SECRET_TOKEN": SECRET, "PATH": "/usr/bin:/bin"}
    argv = [sys.executable, "app.py", "privacy", "forget", "--user-id", str(USER)]
    run = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "add --yes" in run.stdout
    run = subprocess.run(
        [*argv, "--yes"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert "erased 4 update(s)" in run.stdout
    assert str(USER) not in run.stdout + run.stderr
