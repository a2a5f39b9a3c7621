"""Forwarder fixtures: a real local bot backend (HTTP server), a store, a running Dispatcher."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.storage import open_store
from forwarder.dispatcher import Dispatcher
from tests.helpers.forward_kit import (
    BotBackend,
)


@pytest.fixture
def backend() -> Iterator[BotBackend]:
    bot = BotBackend()
    yield bot
    bot.down()


@pytest.fixture
def forward_settings(make_settings, backend):
    """Settings that forward to the local backend, with fast timeouts for tests."""

    def make(**env: object):
        base = {
            "forward_url": backend.url,
            "forward_secret_token": "fwd-secret",
            "forward_timeout_seconds": 2,
            "http_timeout_seconds": 2,
            "forward_backoff_cap_seconds": 0.2,
        }
        return make_settings(**{**base, **env})

    return make


@pytest.fixture
def queue_store(tmp_path: Path):
    store = open_store(str(tmp_path / "queue.db"))
    yield store
    store.close()


@pytest.fixture
def run_dispatcher(queue_store) -> Iterator[Callable[..., Dispatcher]]:
    """Start a Dispatcher in a thread over `queue_store`; stopped and joined at teardown."""
    running: list[tuple[Dispatcher, threading.Thread]] = []

    def start(settings, store=None, **kwargs) -> Dispatcher:
        dispatcher = Dispatcher(store or queue_store, settings, **kwargs)
        thread = threading.Thread(target=dispatcher.run, daemon=True)
        thread.start()
        running.append((dispatcher, thread))
        return dispatcher

    yield start
    for dispatcher, thread in running:
        dispatcher.stop()
        thread.join(timeout=30)
        assert not thread.is_alive(), "dispatcher did not stop"


@pytest.fixture
def sim():
    from simulator.harness import start_simulator

    with start_simulator() as running:
        yield running


@pytest.fixture
def real_bots() -> Iterator[list]:
    """Bots started by a test (see real_bots.py); each is stopped at teardown."""
    started: list = []
    yield started
    for bot in started:
        bot.stop()
