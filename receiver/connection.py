"""Connections of the public listener, every phase bounded in time, the request head in size,
and their number capped.

uvicorn arms its keep-alive timer only after a response and cancels it on the first byte, so a
client that connects and sends nothing, half a request line, or headers announcing a body it
never sends holds a file descriptor for as long as it likes. Telegram sends each update whole
and at once; anything slower than these limits is not Telegram, and is closed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)
CAP_LOG_INTERVAL = 60.0  # seconds between "cap reached" lines while it stays reached


@dataclass(frozen=True)
class ConnectionLimits:
    header_seconds: float = 10.0  # connect (or finish the previous answer) -> headers complete
    body_seconds: float = 30.0  # headers complete -> whole body received
    body_idle_seconds: float = 10.0  # longest silence between two parts of a body
    max_connections: int = 2000  # open connections per worker; more are closed at once
    # Request line plus headers; Telegram's are well under 1 KiB. httptools itself has no limit.
    header_bytes: int = 32768


def bounded_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """The uvicorn HTTP protocol class (config `http=`) enforcing `limits`."""
    return type("BoundedHttpToolsProtocol", (BoundedConnection,), {"limits": limits})


class HeadTooLarge(Exception):
    """Request line and headers over ConnectionLimits.header_bytes."""


class BoundedConnection(HttpToolsProtocol):
    """A request moves through phases: idle (uvicorn's keep-alive timer runs) -> headers ->
    body -> answering (the application's store timeout bounds it) -> idle."""

    limits = ConnectionLimits()
    last_cap_log = 0.0  # shared by all connections of the worker

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.deadline: asyncio.TimerHandle | None = None
        self.head_until = self.loop.time() + self.limits.header_seconds
        self.body_until = 0.0
        self.phase = "headers"
        self.head_bytes = 0
        self.head_too_large = False
        if len(self.connections) > self.limits.max_connections:
            self.refuse(transport)
            return
        self.arm(self.limits.header_seconds)

    def refuse(self, transport: asyncio.Transport) -> None:
        now = time.monotonic()
        if now - BoundedConnection.last_cap_log >= CAP_LOG_INTERVAL:
            BoundedConnection.last_cap_log = now
            log.warning(
                "connection cap reached: %d open connections in this worker "
                "(TGWEBHOOK_MAX_CLIENT_CONNECTIONS); closing new ones until some end",
                self.limits.max_connections,
            )
        transport.abort()

    def arm(self, seconds: float) -> None:
        self.disarm()
        self.deadline = self.loop.call_later(seconds, self.expire)

    def disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def expire(self) -> None:
        self.deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.phase == "idle":  # a new request begins on a kept-alive connection
            self.phase = "headers"
            self.head_until = self.loop.time() + self.limits.header_seconds
        super().data_received(data)
        if self.transport.is_closing():
            return
        # Timers only for a request still incomplete after this chunk: one that arrives whole
        # (Telegram's do) costs none.
        if self.phase == "headers" and self.deadline is None:
            self.arm(self.head_until - self.loop.time())
        elif self.phase == "body":
            left = self.body_until - self.loop.time()
            self.arm(max(0.0, min(left, self.limits.body_idle_seconds)))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_bytes = 0

    def on_url(self, url: bytes) -> None:
        self.head_bytes += len(url)
        if self.head_bytes > self.limits.header_bytes:
            self.stop_parsing()
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_bytes += len(name) + len(value) + 4  # ": " and CRLF
        if self.head_bytes > self.limits.header_bytes:
            self.stop_parsing()
        super().on_header(name, value)

    def stop_parsing(self) -> None:
        self.head_too_large = True
        # The parser stops and uvicorn answers through send_400_response, below.
        raise HeadTooLarge

    def send_400_response(self, msg: str) -> None:
        if not self.head_too_large:
            return super().send_400_response(msg)
        body = b"request header fields too large\n"
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
        )
        self.transport.close()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self.phase = "body"  # data_received arms the body's timer if the body is not all here
        self.body_until = self.loop.time() + self.limits.body_seconds

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.phase = "answering"
        self.disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.phase = "idle"

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        super().connection_lost(exc)
