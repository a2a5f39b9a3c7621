"""Shared fixtures: real temp SQLite, the real Flask app, real `python app.py serve` processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from app import create_app
from core.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret_TOKEN-123"
BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05):
    """Poll until predicate() is truthy (and return it) or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


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


def make_update(update_id: int = 1, kind: str = "message", **over: object) -> dict:
    """A realistic update of `kind`; keyword arguments override fields of its inner object."""
    user = {"id": 1111, "is_bot": False, "first_name": "Ada", "username": "ada"}
    chat = {"id": over.pop("chat_id", 1111), "type": "private", "first_name": "Ada"}
    message = {
        "message_id": update_id,
        "date": 1700000000,
        "chat": chat,
        "from": user,
        "text": "hi",
    }
    bodies = {
        "message": message,
        "edited_message": {**message, "edit_date": 1700000100},
        "callback_query": {
            "id": "4382",
            "from": user,
            "chat_instance": "-42",
            "data": "yes",
            "message": message,
        },  # fmt: skip
        "inline_query": {"id": "9", "from": user, "query": "cats", "offset": ""},
    }
    return {"update_id": update_id, kind: {**bodies[kind], **over}}


@pytest.fixture(name="make_update")
def make_update_fixture() -> Callable[..., dict]:
    return make_update


@pytest.fixture
def post_update(client):
    def post(update: dict | bytes, bot: str = "default", secret: str | None = SECRET,
             content_type: str = "application/json", headers: dict | None = None):  # fmt: skip
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        sent = {"Content-Type": content_type, **(headers or {})}
        if secret is not None:
            sent["X-Telegram-Bot-Api-Secret-Token"] = secret
        return client.post(f"/webhook/{bot}", data=body, headers=sent)

    return post


@dataclass
class Served:
    """A running `python app.py serve` (or any app.py command) with its own DB and port."""

    process: subprocess.Popen
    base_url: str
    db: Path
    log: Path
    env: dict = field(default_factory=dict)

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start real appliance processes; each is stopped (then killed) at teardown."""
    started: list[Served] = []

    def start(env: dict | None = None, command: tuple[str, ...] = ("serve",), workers: int = 2,
              wait_ready: bool = True, timeout: float = 30.0) -> Served:  # fmt: skip
        port = free_port()
        n = len(started)
        db = tmp_path / f"serve{n}.db"
        full = {**os.environ, "TGWEBHOOK_DB": str(db), "TGWEBHOOK_SECRET_TOKEN": SECRET,
                "TGWEBHOOK_LISTEN": f"127.0.0.1:{port}", "TGWEBHOOK_WORKERS": str(workers)}  # fmt: skip
        full.pop("PROMETHEUS_MULTIPROC_DIR", None)
        full.update({k if k.startswith(("TGWEBHOOK_", "PROMETHEUS")) else "TGWEBHOOK_" + k.upper(): str(v)
                     for k, v in (env or {}).items()})  # fmt: skip
        log = tmp_path / f"serve{n}.log"
        with open(log, "wb") as sink:
            process = subprocess.Popen([sys.executable, "app.py", *command], cwd=ROOT, env=full,
                                       stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        served = Served(process, f"http://127.0.0.1:{port}", Path(full["TGWEBHOOK_DB"]), log, full)
        started.append(served)
        if wait_ready:
            wait_until(lambda: is_ready(served), timeout=timeout, interval=0.1)
        return served

    yield start
    for served in started:
        served.stop()


def is_ready(served: Served) -> bool:
    if served.process.poll() is not None:
        raise AssertionError(f"appliance exited early:\n{served.output()[-3000:]}")
    try:
        return requests.get(served.base_url + "/readyz", timeout=1).status_code == 200
    except requests.RequestException:
        return False
