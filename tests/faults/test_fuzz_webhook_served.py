"""Fuzzing a real `serve` (gunicorn gthread workers) over HTTP: the policy status for every
request, stored only on 2xx, no worker ever crashes or logs a traceback, and memory stays
bounded under a burst of megabyte bodies."""

from __future__ import annotations

import json
import socket
from concurrent.futures import ThreadPoolExecutor

import requests
from hypothesis import given
from hypothesis import strategies as st

from core.telegram import SECRET_HEADER
from tests.helpers.fault_kit import count_stored, gunicorn_workers, rss_bytes, stored_body
from tests.helpers.fuzz_strategies import (
    LIMIT,
    content_types,
    expected_status,
    fuzz_settings,
    raw_bodies,
    secrets,
)
from tests.helpers.support import SECRET

MB = 1024 * 1024


def headers_for(secret: str | None, content_type: str | None) -> dict:
    sent = {}
    if secret is not None:
        sent[SECRET_HEADER] = secret
    if content_type is not None:
        sent["Content-Type"] = content_type
    return sent


def assert_stored_only_if_acknowledged(db, body: bytes, status: int, rows_before: int) -> None:
    if 200 <= status < 300:
        row = stored_body(db, json.loads(body)["update_id"])
        assert row is not None, "acknowledged but not stored"
        if count_stored(db) > rows_before:
            assert row == body
    else:
        assert count_stored(db) == rows_before, f"{status} but something was stored"


def test_a_served_appliance_answers_fuzzed_requests_by_the_policy_and_never_crashes(serve):
    served = serve(workers=2)
    workers = gunicorn_workers(served.process.pid)
    session = requests.Session()

    @fuzz_settings(max_examples=300)
    @given(
        secret=st.one_of(st.just(SECRET), secrets),  # often right: the body is the subject
        content_type=st.one_of(st.just("application/json"), content_types),
        body=raw_bodies,
        chunked=st.booleans(),
    )
    def exchange(secret, content_type, body, chunked):
        rows = count_stored(served.db)
        data = iter([body[: len(body) // 2], body[len(body) // 2 :]]) if chunked else body
        response = session.post(
            served.base_url + "/webhook/default",
            data=data,
            headers=headers_for(secret, content_type),
            timeout=30,
        )
        assert response.status_code == expected_status(secret, content_type, body), response.text
        assert_stored_only_if_acknowledged(served.db, body, response.status_code, rows)

    exchange()
    assert gunicorn_workers(served.process.pid) == workers, "a worker died and was replaced"
    assert "Traceback" not in served.output()


WRONG_REQUESTS = [  # (method, path, status)
    ("GET", "/webhook/default", 405),
    ("PUT", "/webhook/default", 405),
    ("DELETE", "/webhook/default", 405),
    ("POST", "/webhook/other", 404),
    ("POST", "/webhook/%FF", 404),
    ("POST", "/webhook/default/extra", 404),
    ("POST", "/webhook/" + "a" * 3000, 404),
]


def test_wrong_methods_and_paths_store_nothing(serve):
    served = serve(workers=1)
    body = b'{"update_id": 1, "message": {}}'
    for method, path, status in WRONG_REQUESTS:
        response = requests.request(
            method,
            served.base_url + path,
            data=body,
            timeout=10,
            headers=headers_for(SECRET, "application/json"),
        )
        assert response.status_code == status, (method, path[:40])
    assert count_stored(served.db) == 0


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(serve):
    served = serve(workers=1)
    host, port = served.base_url.removeprefix("http://").split(":")
    head = (
        f"POST /webhook/default HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"{SECRET_HEADER}: {SECRET}\r\nContent-Length: {100 * MB}\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode() + b'{"update_id": 1')
        assert sock.recv(64).startswith(b"HTTP/1.1 413")
    assert count_stored(served.db) == 0


def megabyte_bodies(first_id: int) -> list[bytes]:
    """Each shape a hostile or broken sender can fill a megabyte with, several times."""

    def padded(update_id: int, size: int) -> bytes:
        head = b'{"update_id": %d, "message": {"text": "' % update_id
        return head + b"a" * (size - len(head) - 3) + b'"}}'

    shapes = [
        lambda n: padded(first_id + n, LIMIT),  # stored
        lambda n: padded(first_id + n, LIMIT + 1),  # 413
        lambda n: (
            b'{"update_id": %d, "message": [' % (first_id + n) + b"1," * (MB // 2 - 40) + b"1]}"
        ),
        lambda n: b"[" * LIMIT,  # RecursionError
        lambda n: b'{"update_id": 1, "message": "' + b"\xff" * (LIMIT - 40) + b'"}',  # bad UTF-8
        lambda n: b'{"update_id": 1, "x": "' + b"\\u0041" * (LIMIT // 6 - 10) + b'"}',
    ]
    return [shape(n) for n in range(8) for shape in shapes]


def test_memory_stays_bounded_under_a_burst_of_megabyte_bodies(serve):
    served = serve(workers=2)
    url = served.base_url + "/webhook/default"
    headers = headers_for(SECRET, "application/json")
    for n in range(50):  # warm both workers up on ordinary traffic first
        requests.post(
            url, data=b'{"update_id": %d, "message": {}}' % n, headers=headers, timeout=10
        )
    workers = gunicorn_workers(served.process.pid)
    before = {pid: rss_bytes(pid) for pid in workers}
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(
                lambda body: requests.post(url, data=body, headers=headers, timeout=60).status_code,
                megabyte_bodies(10_000) * 2,
            )
        )
    assert set(statuses) <= {200, 400, 413}
    assert gunicorn_workers(served.process.pid) == workers, "a worker died under the burst"
    growth = {pid: rss_bytes(pid) - before[pid] for pid in workers}
    print(
        "RSS before (MB):",
        {p: round(v / MB, 1) for p, v in before.items()},
        "growth (MB):",
        {p: round(v / MB, 1) for p, v in growth.items()},
    )
    assert max(growth.values()) < 100 * MB
