"""Console fixtures: the real web app (create_app) over a temp SQLite store, console users, and
dead letters made the way the forwarder makes them (claim, then record_dead)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from app import create_app
from core.config import load_settings
from core.storage import IncomingUpdate, Store
from ops.access import hash_password
from tests.helpers.support import SECRET

VIEWER = ("vera", "viewer-pass-1")
OPERATOR = ("otto", "operator-pass-2")
OPS_TOKEN = "console-ops-T0ken"
CANARY = "CANARY-7f3e-do-not-show"


def users_file(path: Path) -> Path:
    """Vera may look, Otto may act; one sha256 and one scrypt hash, as the docs show both."""
    import hashlib

    viewer = f"sha256:{hashlib.sha256(VIEWER[1].encode()).hexdigest()}"
    operator = hash_password(OPERATOR[1], b"salt-for-tests", n=2**10)
    path.write_text(
        f"# console users\n{VIEWER[0]}:viewer:{viewer}\n{OPERATOR[0]}:operator:{operator}\n"
    )
    return path


def basic(user: tuple[str, str]) -> dict[str, str]:
    token = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def make_console(tmp_path: Path) -> Iterator[Callable[..., tuple[FlaskClient, Store]]]:
    """A console app; `loopback=False` puts the ops listener on 0.0.0.0 (token required)."""
    stores: list[Store] = []

    def make(loopback: bool = True, credentials: bool = False, db: str = "") -> tuple:
        """`db`: another app on that store (a second worker)."""
        env = {
            "TGWEBHOOK_DB": db or str(tmp_path / f"console{len(stores)}.db"),
            "TGWEBHOOK_SECRET_TOKEN": SECRET,
            "TGWEBHOOK_FORWARD_URL": "http://127.0.0.1:9/bot",
        }
        if not loopback:
            env["TGWEBHOOK_OPS_LISTEN"] = "0.0.0.0:19080"
        if credentials or not loopback:
            env["TGWEBHOOK_OPS_TOKEN"] = OPS_TOKEN
            env["TGWEBHOOK_OPS_USERS_FILE"] = str(users_file(tmp_path / "users"))
        app = create_app(load_settings(env))
        store = app.extensions["tgwebhook.store"]
        stores.append(store)
        return app.test_client(), store

    yield make
    for store in stores:
        store.close()


def make_dead(
    store: Store,
    count: int,
    bot: str = "default",
    kind: str = "message",
    error: str = "HTTP 500: oops",
    first: int = 1,
    text: str = "hello",
) -> list[int]:
    """`count` dead letters (one chat each, so each is a head the forwarder may claim)."""
    now = time.time()
    for update_id in range(first, first + count):
        body = {
            "update_id": update_id,
            kind: {"message_id": 1, "text": text, "chat": {"id": update_id}},
        }
        update = IncomingUpdate(
            bot, update_id, kind, str(update_id), json.dumps(body).encode(), now, True
        )
        store.record_update(update, forward=True)
    claimed = store.claim_due(bot, now + 1, count, now + 60, "test")
    for row in claimed:
        store.record_dead(row.id, "test", error)
    return [row.id for row in claimed]


def csrf(client: FlaskClient, headers: dict[str, str] | None = None) -> str:
    """The CSRF token a page or API client gets (and its cookie, kept by the client)."""
    answer = client.get("/api/session", headers=headers or {})
    assert answer.status_code == 200, answer.data
    return answer.json["csrf_token"]
