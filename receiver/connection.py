"""Connections of the public listener, every phase bounded in time, and their number capped.

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


def bounded_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """The uvicorn HTTP protocol class (config `http=`) enforcing `limits`."""
    return type("BoundedHttpToolsProtocol", (BoundedConnection,), {"limits": limits})


class BoundedConnection(HttpToolsProtocol):
    """A request moves through phases: idle (uvicorn's keep-alive timer runs) -> headers ->
    body -> answering (the application's store timeout bounds it) -> idle."""

    limits = ConnectionLimits()
    last_cap_log = 0.0  # shared by all connections of the worker

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.deadline: asyncio.TimerHandle | None = None
        self.body_until = 0.0
        self.phase = "headers"
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
            self.arm(self.limits.header_seconds)
        super().data_received(data)
        if self.phase == "body" and not self.transport.is_closing():
            left = self.body_until - time.monotonic()
            self.arm(max(0.0, min(left, self.limits.body_idle_seconds)))

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self.phase = "body"
        self.body_until = time.monotonic() + self.limits.body_seconds
        self.arm(min(self.limits.body_seconds, self.limits.body_idle_seconds))

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
