"""Fault-test fixtures: a bot backend that can go down, a forwarding appliance, a tiny tmpfs."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from tests.helpers.fault_kit import BotBackend
from tests.helpers.support import Served


@pytest.fixture
def bot_backend() -> Iterator[BotBackend]:
    backend = BotBackend()
    yield backend
    backend.close()


@pytest.fixture
def forwarding_appliance(serve, bot_backend, tmp_path) -> Callable[..., Served]:
    """`serve` forwarding to `bot_backend`, with timeouts sized for a loopback bot.

    Leases are 2 x 1.5 + 1 + 5 = 9 s, so updates in flight when a forwarder is killed are
    taken over 9 s later. The metrics directory lives under tmp_path, so a kill -9 that skips
    the supervisor's clean-up leaves nothing in /tmp.
    """

    started = itertools.count()

    def start(**env: object) -> Served:
        base = {
            "FORWARD_URL": bot_backend.url,
            "FORWARD_TIMEOUT_SECONDS": 1.5,
            "HTTP_TIMEOUT_SECONDS": 1,
            "FORWARD_BACKOFF_CAP_SECONDS": 0.5,
            "PROMETHEUS_MULTIPROC_DIR": tmp_path / f"metrics{next(started)}",
        }
        return serve(env={**base, **env})

    return start
