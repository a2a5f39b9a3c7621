"""A PostgreSQL store opened, or used, while its server is down: it fails fast with
StoreUnreachable (logged once, not per call), migrates and serves by itself once the server is
back; a server that refuses us (password, database) is StoreMisconfigured at once. SQLite
paths that cannot work are StoreMisconfigured before anything is created."""

from __future__ import annotations

import logging
import os
import subprocess
import time
from pathlib import Path

import pytest

from core.storage import (
    IncomingUpdate,
    StoreError,
    StoreMisconfigured,
    StoreUnreachable,
    open_store,
    redact,
)
from tests.helpers.pg_kit import add_password_user, own_cluster
from tests.helpers.support import wait_until


def incoming(update_id: int) -> IncomingUpdate:
    return IncomingUpdate("default", update_id, "message", "1", b"{}", time.time(), True)


def test_store_opened_while_down_fails_fast_then_migrates_and_serves_when_back(caplog):
    caplog.set_level(logging.WARNING, logger="tgwebhook.store")
    with own_cluster() as cluster:
        cluster.stop("fast")
        with pytest.raises(StoreUnreachable):  # what one-shot commands ask for
            open_store(cluster.url(), timeout=2, tolerate_outage=False)
        caplog.clear()
        store = open_store(cluster.url(), timeout=2)  # no schema yet, and no exception
        try:
            for _ in range(20):
                started = time.monotonic()
                with pytest.raises(StoreError):
                    store.record_update(incoming(1), forward=True)
                with pytest.raises(StoreError):
                    store.check_writable()
                assert time.monotonic() - started < 0.5  # no connect timeout per call
            with pytest.raises(StoreUnreachable):
                store.check_writable()
            cluster.start()
            wait_until(lambda: writable(store), timeout=5, what="store usable again")
            assert store.record_update(incoming(1), forward=True) is True
            assert (
                store.record_update(incoming(1), forward=True) is False
            )  # the migrated schema's dedup
        finally:
            store.close()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("store unreachable" in m for m in messages) == 1, messages
    assert sum("store reachable again" in m for m in messages) == 1, messages


def test_store_survives_a_restart_of_its_server_without_being_reopened():
    with own_cluster() as cluster:
        store = open_store(cluster.url(), timeout=2)
        try:
            assert store.record_update(incoming(1), forward=True) is True
            cluster.stop("fast")
            with pytest.raises(StoreError):
                store.record_update(incoming(2), forward=True)
            with pytest.raises(StoreError):
                store.check_writable()
            cluster.start()
            wait_until(lambda: writable(store), timeout=5, what="store usable again")
            assert store.record_update(incoming(2), forward=True) is True
            assert store.read("SELECT count(*) FROM updates")[0][0] == 2
        finally:
            store.close()


def writable(store) -> bool:
    try:
        store.check_writable()
    except StoreError:
        return False
    return True


def test_wrong_password_and_missing_database_are_misconfigured_without_the_password():
    with own_cluster() as cluster:
        url = add_password_user(cluster, "appuser", "right-pw")
        open_store(url, timeout=2).close()  # the right one works
        wrong = url.replace("right-pw", "wrong-pw-7781")
        with pytest.raises(StoreMisconfigured, match="password authentication failed") as info:
            open_store(wrong, timeout=2)
        assert "wrong-pw-7781" not in str(info.value)
        assert "wrong-pw-7781" not in redact(wrong)
        with pytest.raises(StoreMisconfigured, match="does not exist"):
            open_store(cluster.url("no_such_db"), timeout=2)


def test_sqlite_path_that_cannot_work_is_misconfigured_and_nothing_is_created(tmp_path: Path):
    missing = tmp_path / "absent" / "deeper" / "tgwebhook.db"
    with pytest.raises(StoreMisconfigured, match="does not exist"):
        open_store(str(missing))
    not_db = tmp_path / "notes.db"
    not_db.write_text("these are not the rows you are looking for\n" * 10)
    with pytest.raises(StoreMisconfigured, match="not an SQLite database"):
        open_store(str(not_db))
    with pytest.raises(StoreMisconfigured, match="is a directory"):
        open_store(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]
    open_store(str(tmp_path / "data" / "tgwebhook.db")).close()  # its own directory is made
    assert (tmp_path / "data" / "tgwebhook.db").is_file()


def test_sqlite_in_a_read_only_directory_is_misconfigured(tmp_path: Path):
    readonly = tmp_path / "ro"
    readonly.mkdir()
    if os.geteuid() == 0:  # root writes through mode bits: a read-only mount stops it
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(readonly)], check=True
        )
    else:
        readonly.chmod(0o555)
    try:
        with pytest.raises(StoreMisconfigured, match="not writable"):
            open_store(str(readonly / "tgwebhook.db"))
        assert list(readonly.iterdir()) == []
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", "-l", str(readonly)], check=False)
        else:
            readonly.chmod(0o755)
