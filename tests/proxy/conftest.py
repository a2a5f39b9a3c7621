"""Proxy fixtures: `poll_store`, a real store on both backends (a throwaway PostgreSQL
cluster per session, as tests/core/storage does)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.storage import Store, open_store
from tests.helpers.pg_kit import Cluster, remove_cluster, start_cluster


@pytest.fixture(scope="session")
def proxy_pg_cluster() -> Iterator[Cluster]:
    cluster = start_cluster()
    yield cluster
    remove_cluster(cluster)


@pytest.fixture(params=["sqlite", "postgres"])
def poll_store(request, tmp_path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = str(tmp_path / "poll.db")
    else:
        url = request.getfixturevalue("proxy_pg_cluster").fresh_url()
    opened = open_store(url)
    yield opened
    opened.close()
