"""`python app.py dlq ...` and `python app.py queue` against a running appliance."""

from __future__ import annotations

import json
import subprocess
import sys

import requests

from core.storage import open_store
from tests.helpers.forward_kit import Reply
from tests.helpers.support import ROOT, SECRET, make_update, wait_until

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


def app_py(served, *args: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "app.py", *args],
        cwd=ROOT,
        env=served.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.returncode, done.stdout


def app_json(served, *args: str):
    code, out = app_py(served, *args, "--json")
    assert code == 0, out
    return json.loads(out)


def post(served, update_id: int, chat_id: int) -> None:
    body = json.dumps(make_update(update_id, chat_id=chat_id))
    answer = requests.post(
        f"{served.base_url}/webhook/default", data=body, headers=HEADERS, timeout=10
    )
    assert answer.status_code == 200


def dead_letter_check(served) -> dict:
    health = requests.get(served.base_url + "/health", timeout=5).json()
    return health["checks"]["deadLetters:count"][0]


def audit_list(served) -> list:
    store = open_store(str(served.db))
    try:
        return store.audit_entries()
    finally:
        store.close()


def test_a_dead_letter_is_listed_shown_and_delivered_by_replay(serve, backend):
    broken = {1}
    backend.rule = lambda u: Reply(500, b"handler crashed") if u["update_id"] in broken else Reply()
    served = serve(
        env={
            "FORWARD_URL": backend.url,
            "FORWARD_MAX_ATTEMPTS": 2,
            "FORWARD_BACKOFF_CAP_SECONDS": 0.2,
        }
    )
    post(served, 1, chat_id=5)
    post(served, 2, chat_id=5)
    [letter] = wait_until(lambda: app_json(served, "dlq", "list"), timeout=15)
    assert (letter["update_id"], letter["attempts"]) == (1, 2)
    assert letter["last_error"] == "HTTP 500: handler crashed"
    wait_until(lambda: 2 in backend.update_ids())  # the chat moved on past its dead letter
    assert dead_letter_check(served)["status"] == "warn"

    shown = app_json(served, "dlq", "show", str(letter["id"]))
    assert shown["update"] == make_update(1, chat_id=5)
    code, text = app_py(served, "dlq", "list")
    assert code == 0 and "handler crashed" in text
    queue = app_json(served, "queue")
    assert queue["bots"][0]["dead_letters"] == 1 and queue["bots"][0]["forwarding"]

    broken.clear()
    assert app_py(served, "dlq", "replay", str(letter["id"])) == (0, "replayed 1 dead letter(s)\n")
    wait_until(lambda: backend.update_ids() == [1, 1, 2, 1])
    wait_until(lambda: dead_letter_check(served)["status"] == "pass")
    # The bot has the replayed update before the forwarder stores it as delivered.
    wait_until(lambda: app_json(served, "queue")["bots"][0]["depth"] == 0, what="queue drained")


def test_drop_gives_up_on_dead_letters_and_bad_requests_are_refused(serve, backend):
    backend.rule = lambda update: Reply(404)
    served = serve(env={"FORWARD_URL": backend.url, "FORWARD_MAX_ATTEMPTS": 1})
    # One chat: a bot failing in several chats is down, and then attempts do not count.
    post(served, 7, chat_id=5)
    post(served, 8, chat_id=5)
    wait_until(lambda: len(app_json(served, "dlq", "list")) == 2, timeout=15)

    assert app_py(served, "dlq", "replay")[0] == 2  # neither ids nor --all
    code, text = app_py(served, "dlq", "replay", "424242")
    assert code == 1 and "424242: no such update" in text
    assert app_json(served, "dlq", "drop", "--all") == {"dropped": 2, "skipped": []}
    assert app_json(served, "dlq", "list") == []
    assert app_json(served, "queue")["bots"][0]["dead_letters"] == 0
    audit = audit_list(served)  # the console's audit list shows what the shell did
    assert [(e.action, e.target, e.done) for e in audit[:2]] == [
        ("drop all", "all dead letters", 2),
        ("replay", "ids 424242", 0),
    ]
    assert all(e.actor.startswith("cli:") and e.role == "operator" for e in audit[:2])
    code, text = app_py(served, "queue")
    assert code == 0 and "depth 0" in text and "dead letters 0" in text
