"""The HTTP seam to the bot backend: one POST per update, in Telegram's webhook format.

Per bot a pool of keep-alive connections (forwarder/connection.py), at most one per chat in
flight, as Telegram keeps up to max_connections open. Every outcome, including a
refused connection or a timeout, becomes an `Answer`; error texts never carry the forward URL
(it may hold a secret path) or a bot token.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.config import Secret
from core.telegram import SECRET_HEADER, redact
from forwarder.connection import Connection, ConnectionFailed, Origin, Response, connect
from forwarder.policy import parse_retry_after

ERROR_BODY_CHARS = 200


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer at all (connection refused, timeout)
    duration: float
    error: str = ""  # why this is not a success; "" for 2xx
    retry_after: float | None = None
    content_type: str = ""
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Backend:
    """The keep-alive connections to one bot's backend (at most one per chat in flight, so at
    most `forward_concurrency`); use inside one event loop."""

    def __init__(self, timeout: float, connections: int) -> None:
        self.timeout = timeout
        self.connections = connections
        self._origins: dict[str, Origin] = {}
        self._idle: dict[Origin, list[Connection]] = {}
        self._tls: ssl.SSLContext | None = None

    async def post(self, url: str, body: bytes, secret: Secret) -> Answer:
        origin = self._origin(url)
        extra = f"{SECRET_HEADER}: {secret.reveal()}\r\n" if secret else ""
        if extra.count("\n") > 1 or "\r" in extra[:-2]:  # would forge headers; never sent
            return Answer(None, 0.0, error="forward secret token contains a line break")
        data = b"%s%sContent-Length: %d\r\n\r\n%s" % (
            origin.head,
            extra.encode("latin-1"),
            len(body),
            body,
        )
        started = time.monotonic()
        try:
            response = await self._exchange(origin, data)
        except (ConnectionFailed, TimeoutError) as exc:
            return Answer(None, time.monotonic() - started, error=describe(exc, url))
        duration = time.monotonic() - started
        content_type = response.headers.get("content-type", "")
        # Telegram does not follow redirects; neither do we (a 3xx is a failure).
        if 200 <= response.status < 300:
            return Answer(response.status, duration, "", None, content_type, response.body)
        retry_after = parse_retry_after(response.headers.get("retry-after"), time.time())
        error = f"HTTP {response.status}: {snippet(response.body)}".rstrip(": ")
        return Answer(response.status, duration, error, retry_after, content_type)

    async def _exchange(self, origin: Origin, data: bytes) -> Response:
        idle = self._idle.setdefault(origin, [])
        while idle and idle[-1].closed:  # the bot closed them while they were idle
            idle.pop()
        connection = idle.pop() if idle else await connect(origin, self.timeout)
        timer = asyncio.get_running_loop().call_later(
            self.timeout, connection.time_out, self.timeout
        )
        try:
            response = await connection.request(data)
        except BaseException:
            connection.close()
            raise
        finally:
            timer.cancel()
        if not connection.closed:
            idle.append(connection)
        return response

    def _origin(self, url: str) -> Origin:
        origin = self._origins.get(url)
        if origin is None:
            origin = self._origins[url] = Origin.of(urlsplit(url), self._tls_context())
        return origin

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            # The system CAs, or a private CA the way requests is pointed at one.
            self._tls = ssl.create_default_context(cafile=os.environ.get("REQUESTS_CA_BUNDLE"))
        return self._tls

    async def close(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()


def describe(exc: BaseException, url: str) -> str:
    """`ConnectionError: ...` or `Timeout: ...`, the wording operators know from requests."""
    if isinstance(exc, TimeoutError):
        kind = "Timeout"
    elif isinstance(exc, ConnectionError):
        kind = "ConnectionError"
    else:
        kind = type(exc).__name__
    text = f"{kind}: {exc or type(exc).__name__}"
    parts = urlsplit(url)
    for secret_part in (url, parts.path + (f"?{parts.query}" if parts.query else "")):
        if len(secret_part) > 1:
            text = text.replace(secret_part, "<forward_url>")
    return redact(text)[:500]


def snippet(body: bytes) -> str:
    text = body[: ERROR_BODY_CHARS * 4].decode("utf-8", "replace")
    return redact(" ".join(text.split()))[:ERROR_BODY_CHARS]
