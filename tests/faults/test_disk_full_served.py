"""A full disk under a real `serve` (gunicorn workers): 503 with Retry-After, /readyz 503, no
2xx for an update that is not stored; recovery as soon as space is back, and Telegram's
retries of the refused updates are then stored."""

from __future__ import annotations

import json

import requests

from tests.helpers.fault_kit import HEADERS, stored
from tests.helpers.support import fill, make_update

LARGE = 100_000  # characters: needs fresh pages whatever the WAL already holds


def post(base_url: str, update_id: int, size: int = 2) -> requests.Response:
    body = json.dumps(make_update(update_id, text="x" * size))
    return requests.post(f"{base_url}/webhook/default", data=body, headers=HEADERS, timeout=30)


def statuses(base_url: str, path: str, times: int = 6) -> set[int]:
    """Several calls, so that both workers answer."""
    return {requests.get(base_url + path, timeout=10).status_code for _ in range(times)}


def test_full_disk_refuses_with_503_and_recovers_when_space_returns(small_fs, serve):
    served = serve(env={"DB": small_fs / "tg.db", "STORE_TIMEOUT_SECONDS": 0.5}, workers=2)
    assert post(served.base_url, 1).status_code == 200
    fill(small_fs / "filler")
    assert statuses(served.base_url, "/readyz") == {503}
    assert statuses(served.base_url, "/health") == {503}
    refused = []
    for update_id in range(2, 12):
        response = post(served.base_url, update_id, size=LARGE)
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        refused.append(update_id)
    # Small ones may still fit in pages SQLite already holds: a 2xx only if really stored.
    small = {uid: post(served.base_url, uid).status_code for uid in range(100, 110)}
    assert set(small.values()) <= {200, 503}
    rows = stored(served.db)
    assert {uid for uid, status in small.items() if status == 200} <= rows.keys()
    assert not rows.keys() & set(refused)

    (small_fs / "filler").unlink()
    assert statuses(served.base_url, "/readyz") == {200}
    for update_id in refused:  # Telegram retries what got a non-2xx
        assert post(served.base_url, update_id, size=LARGE).status_code == 200
    rows = stored(served.db)
    assert rows.keys() >= {1, *refused}
    assert rows.keys() <= {1, *refused, *small}
    assert served.process.poll() is None
    assert "Traceback" not in served.output()
