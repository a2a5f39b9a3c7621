"""Storage fixtures: `any_store` / `store_url`, parametrized over both backends (PostgreSQL: a
fresh database per test on the run's cluster, tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from core.storage import open_store


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path) -> str:
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
