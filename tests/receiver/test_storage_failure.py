"""Real storage failures (disk full, lock held past the timeout): 503 with
Retry-After, /readyz 503, nothing acknowledged unsaved, and recovery once the cause goes."""

from __future__ import annotations

import sqlite3

from app import create_app
from core.telegram import SECRET_HEADER
from tests.helpers.support import SECRET, fill, make_update


def post(client, update_id: int, size: int = 2):
    return client.post(
        "/webhook/default",
        json=make_update(update_id, text="x" * size),
        headers={SECRET_HEADER: SECRET},
    )


def assert_refused(client, store, update_id: int) -> None:
    # Large enough to need new pages: a small one may still fit in space SQLite already holds.
    response = post(client, update_id, size=200_000)
    assert response.status_code == 503
    assert store.get_update("default", update_id) is None
    assert response.headers["Retry-After"] == "5"
    assert client.get("/readyz").status_code == 503
    assert client.get("/health").status_code == 503
    assert client.get("/health").json["checks"]["store:writable"][0]["status"] == "fail"


def test_disk_full_gives_503_and_recovers(small_fs, make_settings):
    app = create_app(make_settings(db=small_fs / "tg.db", store_timeout_seconds=0.5))
    client, store = app.test_client(), app.extensions["tgwebhook.store"]
    assert post(client, 1).status_code == 200
    fill(small_fs / "filler")
    for update_id in range(2, 40):  # big enough to need new pages whatever the WAL holds
        response = post(client, update_id, size=60_000)
        assert response.status_code in (200, 503)
        if response.status_code == 200:
            assert store.get_update("default", update_id) is not None
    assert_refused(client, store, 99)
    (small_fs / "filler").unlink()
    assert post(client, 99).status_code == 200
    assert client.get("/readyz").status_code == 200
    assert store.get_update("default", 99) is not None


def test_lock_held_past_timeout_gives_503_and_recovers(make_settings, tmp_path):
    app = create_app(make_settings(store_timeout_seconds=0.3))
    client, store = app.test_client(), app.extensions["tgwebhook.store"]
    blocker = sqlite3.connect(tmp_path / "tgwebhook.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        assert_refused(client, store, 1)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert post(client, 1).status_code == 200
    assert store.get_update("default", 1)["state"] == "stored"
    assert client.get("/readyz").status_code == 200
