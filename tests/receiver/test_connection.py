"""Every connection phase of the public listener is bounded: a real uvicorn server with the
bounded protocol, and raw sockets that behave as slow or idle clients do."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from receiver.connection import ConnectionLimits, bounded_protocol
from tests.helpers.support import free_port, wait_until

LIMITS = ConnectionLimits(
    header_seconds=0.6, body_seconds=1.2, body_idle_seconds=0.4, max_connections=8
)
REQUEST = b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"


async def echo_length(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    answer = str(len(body)).encode()
    headers = [(b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture
def server() -> Iterator[int]:
    port = free_port()
    config = uvicorn.Config(
        echo_length,
        host="127.0.0.1",
        port=port,
        http=bounded_protocol(LIMITS),
        timeout_keep_alive=5,
        log_level="warning",
        lifespan="off",
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(running.serve()), daemon=True)
    thread.start()
    wait_until(lambda: running.started, timeout=10)
    yield port
    running.should_exit = True
    thread.join(timeout=10)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.settimeout(5)
    return sock


def answer(sock: socket.socket) -> bytes:
    """One whole response (the echo app always sends a Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def closed_after(sock: socket.socket) -> float:
    """Seconds until the server closes the connection (reads to EOF, bounded by the timeout)."""
    start = time.monotonic()
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, TimeoutError):
        pass
    return time.monotonic() - start


@pytest.mark.parametrize(
    ("sent", "limit"),
    [
        (b"", LIMITS.header_seconds),  # connects and says nothing
        (b"POST /x HT", LIMITS.header_seconds),  # half a request line
        (REQUEST, LIMITS.header_seconds),  # headers never finished
        (REQUEST + b"Content-Length: 100000\r\n\r\n{", LIMITS.body_idle_seconds),  # body stalls
    ],
    ids=["silent", "half-request-line", "unfinished-headers", "stalled-body"],
)
def test_a_slow_client_is_closed_within_its_phase_limit(server, sent, limit):
    sock = connect(server)
    sock.sendall(sent)
    assert closed_after(sock) < limit + 1.5
    sock.close()


def test_a_body_trickled_under_the_idle_limit_is_still_bounded_as_a_whole(server):
    sock = connect(server)
    sock.sendall(REQUEST + b"Content-Length: 100000\r\n\r\n")
    start = time.monotonic()
    try:
        while time.monotonic() - start < 5:
            sock.sendall(b" ")
            time.sleep(0.1)
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert time.monotonic() - start < LIMITS.body_seconds + 1.5
    sock.close()


def test_a_prompt_client_is_answered_and_kept_alive_past_the_header_limit(server):
    sock = connect(server)
    for _ in range(2):
        sock.sendall(REQUEST + b"Content-Length: 2\r\n\r\n{}")
        assert answer(sock).startswith(b"HTTP/1.1 200")
        time.sleep(LIMITS.header_seconds + 0.3)  # idle between requests: keep-alive rules
    sock.sendall(REQUEST + b"Content-Length: 2\r\n\r\n{}")
    assert answer(sock).endswith(b"\r\n\r\n2")
    sock.close()


def test_connections_over_the_cap_are_closed_at_once_and_logged_once(server, caplog):
    caplog.set_level(logging.WARNING, logger="receiver.connection")
    held = [connect(server) for _ in range(LIMITS.max_connections)]
    time.sleep(0.2)
    extra = [connect(server) for _ in range(3)]
    assert all(closed_after(sock) < 0.5 for sock in extra)
    assert sum("connection cap reached" in r.getMessage() for r in caplog.records) == 1
    for sock in held + extra:
        sock.close()


def status_of(port: int, request: bytes) -> bytes:
    """The status line answered to `request`, however early the server stops reading it."""
    sock = connect(port)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(request)  # may be answered and closed before the whole head arrived
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while b"\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    sock.close()
    return data.split(b"\r\n", 1)[0]


@pytest.mark.parametrize(
    "head",
    [
        b"POST /x HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n",  # 1 MiB header
        b"POST /" + b"x" * 100_000 + b" HTTP/1.1\r\nHost: t\r\n",  # 100 KB request line
        b"POST /x HTTP/1.1\r\n" + b"".join(b"h%d: v\r\n" % n for n in range(10_000)),
    ],
    ids=["1-MiB-header", "100-KB-request-line", "10000-headers"],
)
def test_an_oversized_head_is_refused_with_431_and_the_server_goes_on(server, head):
    assert (
        status_of(server, head + b"Content-Length: 2\r\n\r\n{}")
        == b"HTTP/1.1 431 Request Header Fields Too Large"
    )
    sock = connect(server)
    sock.sendall(REQUEST + b"X-Fair: " + b"a" * 20_000 + b"\r\nContent-Length: 2\r\n\r\n{}")
    assert answer(sock).startswith(b"HTTP/1.1 200")
    sock.close()
