"""The ops token check: `Authorization: Bearer <token>` exactly, scheme case-insensitive."""

from __future__ import annotations

import pytest

from ops.access import bearer_matches, needs_token

TOKEN = b"s3cret-ops_token"


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (b"Bearer s3cret-ops_token", True),
        (b"bearer s3cret-ops_token", True),
        (b"Bearer  s3cret-ops_token ", True),
        (None, False),
        (b"", False),
        (b"Bearer ", False),
        (b"Bearer s3cret-ops_toke", False),
        (b"Bearer s3cret-ops_token2", False),
        (b"Basic s3cret-ops_token", False),
        (b"s3cret-ops_token", False),
    ],
)
def test_only_the_bearer_token_itself_matches(header, ok):
    assert bearer_matches(header, TOKEN) is ok


def test_only_livez_is_open():
    assert not needs_token("/livez")
    assert all(needs_token(path) for path in ("/metrics", "/health", "/readyz", "/", "/livez/"))
