"""Proxy fixtures: `poll_store`, a real store on both backends (PostgreSQL: a fresh database on
the run's cluster, tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.storage import Store, open_store


@pytest.fixture(params=["sqlite", "postgres"])
def poll_store(request, tmp_path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = str(tmp_path / "poll.db")
    else:
        url = request.getfixturevalue("pg_url")
    opened = open_store(url)
    yield opened
    opened.close()
