"""`python app.py migrate-store`: SQLite -> PostgreSQL copies updates (queue state included),
observations, alert state and history, certificate checks; running it again copies nothing."""

from __future__ import annotations

import subprocess
import sys

from core.storage import (
    DEAD,
    DELIVERED,
    AlertTransition,
    CertificateCheck,
    IncomingUpdate,
    Observation,
    open_store,
)
from tests.helpers.support import ROOT

NOW = 1_800_000_000.0


def fill(store) -> None:
    for update_id in range(1, 6):
        body = b'{"update_id": %d}' % update_id
        store.record_update(
            IncomingUpdate(
                "default", update_id, "message", str(update_id % 2), body, NOW + update_id, True
            ),
            forward=True,
        )
    first, second = store.claim_due("default", NOW + 10, 10, NOW + 40, "old")
    store.record_delivered(first.id, "old", NOW + 11)
    store.record_dead(second.id, "old", "HTTP 500")
    store.save_observation(Observation("default", NOW, True, pending_update_count=3))
    store.save_observation(Observation("default", NOW + 60, False, error_code=401, error="no"))
    store.save_transition(
        AlertTransition(
            "default",
            "poll_failing",
            "fire",
            "ok",
            "firing",
            NOW + 60,
            "critical",
            "revoked",
            {"code": 401},
        ),
        0,
        ["webhook"],
    )
    store.save_certificate_check(CertificateCheck("default", "x.example", NOW, NOW + 86400))


def migrate(source: str, target: str) -> str:
    result = subprocess.run(
        [sys.executable, "app.py", "migrate-store", "--from", source, "--to", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_sqlite_to_postgres_copies_everything_once(tmp_path, pg_url):
    path = tmp_path / "old.db"
    old = open_store(str(path))
    fill(old)
    old.close()
    first = migrate(f"sqlite:///{path}", pg_url)
    assert "updates              5 rows copied" in first
    again = migrate(str(path), pg_url)
    assert all(line.endswith(" 0 rows copied") for line in again.splitlines()), again
    old, new = open_store(str(path)), open_store(pg_url)
    try:
        assert new.count_updates() == 5
        assert [(u.update_id, u.state) for u in new.dead_letters()] == [(2, DEAD)]
        assert new.get_update("default", 1)["state"] == DELIVERED
        assert bytes(new.get_update("default", 3)["body"]) == b'{"update_id": 3}'
        assert not new.record_update(
            IncomingUpdate("default", 4, "message", "0", b"{}", NOW, True), forward=True
        )
        assert [u.update_id for u in new.claim_due("default", NOW + 50, 10, NOW + 80, "b")] == [
            3,
            4,
        ]
        assert new.recent_observations("default") == old.recent_observations("default")
        assert new.alert_states() == old.alert_states()
        assert [t.details for t in new.alert_history()] == [{"code": 401}]
        assert new.certificate_checks() == old.certificate_checks()
    finally:
        old.close()
        new.close()


def test_the_same_store_on_both_sides_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "app.py", "migrate-store", "--from", "x.db", "--to", "x.db"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "same store" in result.stderr
