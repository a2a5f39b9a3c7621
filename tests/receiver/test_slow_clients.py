"""A real `serve` (2 workers) under hundreds of slow connections: each is closed within its
configured phase limit, while an update sent meanwhile is answered at once and stored."""

from __future__ import annotations

import json
import selectors
import socket
import sqlite3
import time

import requests

from core.telegram import SECRET_HEADER
from tests.helpers.support import SECRET, make_update

LIMITS = {"HEADER_TIMEOUT_SECONDS": 1, "BODY_TIMEOUT_SECONDS": 3, "BODY_IDLE_TIMEOUT_SECONDS": 1}
HEADERS = b"POST /webhook/default HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
SLOW = {
    "half-request-line": b"POST /webhook/defa",
    "stalled-body": HEADERS + b"Content-Length: 100000\r\n\r\n{",
}
MARGIN = 2.0  # scheduling slack on a busy 2-core machine


def open_slow(port: int, sent: bytes, count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(sent)
        sock.setblocking(False)
        socks.append(sock)
    return socks


def close_times(socks: list[socket.socket], start: float, timeout: float) -> list[float]:
    """Seconds from `start` until the server closed each socket (EOF or reset)."""
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
    closed: list[float] = []
    while len(closed) < len(socks) and time.monotonic() - start < timeout:
        for key, _ in selector.select(timeout=0.2):
            try:
                if key.fileobj.recv(65536):  # type: ignore[union-attr]
                    continue
            except (ConnectionResetError, BlockingIOError):
                pass
            selector.unregister(key.fileobj)
            closed.append(time.monotonic() - start)
    selector.close()
    return closed


def stored_rows(db) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM updates").fetchone()[0]


def test_slow_connections_are_closed_in_time_while_updates_are_answered(serve):
    served = serve(env=LIMITS, workers=2)
    port = int(served.base_url.rsplit(":", 1)[1])
    start = time.monotonic()
    groups = {name: open_slow(port, sent, 150) for name, sent in SLOW.items()}
    sent = time.monotonic()
    answer = requests.post(
        served.base_url + "/webhook/default",
        data=json.dumps(make_update(42)),
        headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"},
        timeout=10,
    )
    latency = time.monotonic() - sent
    assert answer.status_code == 200 and latency < 1.0
    for name, socks in groups.items():
        times = close_times(socks, start, timeout=15)
        assert len(times) == len(socks), f"{name}: {len(socks) - len(times)} still open"
        assert max(times) < 1 + MARGIN, name  # header limit, or the body's idle limit
        for sock in socks:
            sock.close()
    assert stored_rows(served.db) == 1


def test_the_connection_cap_and_keep_alive_bound_are_the_configured_ones(serve):
    env = {"MAX_CLIENT_CONNECTIONS": 20, "IDLE_TIMEOUT_SECONDS": 1}
    served = serve(env=env, workers=1)
    port = int(served.base_url.rsplit(":", 1)[1])
    start = time.monotonic()
    held = open_slow(port, b"", 20)
    time.sleep(0.3)
    extra = open_slow(port, b"", 5)
    assert all(t < 1.0 for t in close_times(extra, start, timeout=1.0 + 0.3)), "cap not applied"
    assert "connection cap reached" in served.output()
    assert "TGWEBHOOK_MAX_CLIENT_CONNECTIONS" in served.output()
    for sock in held:
        sock.close()
    time.sleep(0.3)
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /livez HTTP/1.1\r\nHost: t\r\n\r\n")  # HTTP/1.1: kept alive
    data = b""
    while not data.endswith(b"ok\n"):
        data += sock.recv(65536)
    idle_from = time.monotonic()
    assert data.startswith(b"HTTP/1.1 200") and sock.recv(1) == b""  # closed by the server
    assert time.monotonic() - idle_from < 1 + MARGIN
    sock.close()
