"""Storage fixtures: one throwaway PostgreSQL cluster per session, a fresh database per test,
and `any_store` / `store_url`, parametrized over both backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from core.storage import open_store
from tests.helpers.pg_kit import Cluster, remove_cluster, start_cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    cluster = start_cluster()
    yield cluster
    remove_cluster(cluster)


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    return pg_cluster.fresh_url()


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
