"""Shared fixtures: real temp SQLite, the real Flask app, real `python app.py serve` processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app import create_app
from core.config import Settings, load_settings
from core.storage import open_store
from core.telegram import SECRET_HEADER
from simulator.harness import Simulator, make_token, start_simulator
from tests.helpers.pg_kit import Cluster, remove_cluster, start_cluster
from tests.helpers.support import (
    ROOT,
    SECRET,
    Served,
    free_port,
    is_ready,
    make_update,
    ops_url,
    wait_until,
)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings from a TGWEBHOOK_* env (names without prefix, lower-case keys allowed)."""

    def make(**env: object) -> Settings:
        base = {"TGWEBHOOK_DB": str(tmp_path / "tgwebhook.db"), "TGWEBHOOK_SECRET_TOKEN": SECRET}
        for key, value in env.items():
            base["TGWEBHOOK_" + key.upper()] = str(value)
        return load_settings(base)

    return make


@pytest.fixture
def settings(make_settings) -> Settings:
    return make_settings()


@pytest.fixture
def app(settings: Settings):
    app = create_app(settings)
    yield app
    app.extensions["tgwebhook.store"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def store(app):
    return app.extensions["tgwebhook.store"]


@pytest.fixture(name="make_update")
def make_update_fixture() -> Callable[..., dict]:
    return make_update


@pytest.fixture
def post_update(client):
    def post(
        update: dict | bytes,
        bot: str = "default",
        secret: str | None = SECRET,
        content_type: str = "application/json",
        headers: dict | None = None,
    ):
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        sent = {"Content-Type": content_type, **(headers or {})}
        if secret is not None:
            sent[SECRET_HEADER] = secret
        return client.post(f"/webhook/{bot}", data=body, headers=sent)

    return post


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start real appliance processes; each is stopped (then killed) at teardown."""
    started: list[Served] = []

    def start(
        env: dict | None = None,
        command: tuple[str, ...] = ("serve",),
        workers: int = 2,
        wait_ready: bool = True,
        timeout: float = 30.0,
        public_host: str = "127.0.0.1",
    ) -> Served:
        """`public_host` other than 127.0.0.1 (e.g. 0.0.0.0) gives the ops listener its own
        loopback port (env may override it): `ops_url(served)` names it."""
        port = free_port()
        n = len(started)
        db = tmp_path / f"serve{n}.db"
        full = {
            **os.environ,
            "TGWEBHOOK_DB": str(db),
            "TGWEBHOOK_SECRET_TOKEN": SECRET,
            "TGWEBHOOK_LISTEN": f"{public_host}:{port}",
            "TGWEBHOOK_WORKERS": str(workers),
        }
        if public_host != "127.0.0.1":
            full["TGWEBHOOK_OPS_LISTEN"] = f"127.0.0.1:{free_port()}"
        full.pop("PROMETHEUS_MULTIPROC_DIR", None)
        full.update(
            {
                k if k.startswith(("TGWEBHOOK_", "PROMETHEUS")) else "TGWEBHOOK_" + k.upper(): str(
                    v
                )
                for k, v in (env or {}).items()
            }
        )
        log = tmp_path / f"serve{n}.log"
        with open(log, "wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "app.py", *command],
                cwd=ROOT,
                env=full,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # 0.0.0.0 includes loopback; env may name the port (a restart on the same one).
        url = f"http://127.0.0.1:{full['TGWEBHOOK_LISTEN'].rpartition(':')[2]}"
        served = Served(process, url, Path(full["TGWEBHOOK_DB"]), log, full)
        started.append(served)
        if wait_ready:
            probe = replace(served, base_url=ops_url(served))
            token = full.get("TGWEBHOOK_OPS_TOKEN")
            wait_until(lambda: is_ready(probe, token), timeout=timeout, interval=0.1)
        return served

    yield start
    for served in started:
        served.stop()


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 6 MiB tmpfs: a real filesystem that really fills up (needs root, as in CI).

    Request it before `serve` so the appliance is stopped before the unmount."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mount = tmp_path / "fs"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    # Telegram's delays (retry backoff, setWebhook rate limit) run 50x faster.
    with start_simulator(time_factor=0.02) as simulator:
        yield simulator


@pytest.fixture
def token() -> str:
    return make_token(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster for the whole run (initdb costs seconds); each test
    gets a fresh database on it through `pg_url`. Tests that stop PostgreSQL start their own
    (pg_kit.own_cluster) or start it again before they end."""
    cluster = start_cluster()
    yield cluster
    remove_cluster(cluster)


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    return pg_cluster.fresh_url()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path) -> str:
    """A store on each backend: a temp SQLite file, a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def open_url(store_url: str) -> Iterator[Callable[..., object]]:
    """Open (more) stores on the test's database; all are closed at teardown."""
    opened = []

    def opener(timeout: float = 5.0):
        store = open_store(store_url, timeout=timeout)
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()


@pytest.fixture
def any_store(open_url):
    return open_url()
