"""One keep-alive HTTP/1.1 connection to a bot backend, one request at a time, on asyncio.

The forwarder's whole job is small POSTs to one origin, so a general client's per-request work
(middleware, cookie jars, header objects, a task per timeout) is most of its CPU: aiohttp costs
150-240 us per request on the reference machine, this about a third of that. Responses are
parsed by httptools (llhttp, what uvicorn uses): Content-Length, chunked or until close.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, unquote

import httptools

SAFE = "/?&=%:@!$'()*+,;~-._"  # what may stay as it is in a request target (RFC 3986)


class ConnectionFailed(ConnectionError):
    """The bot's side failed before a whole answer arrived (refused, reset, closed, garbage)."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes


@dataclass(frozen=True)
class Origin:
    """Where a forward URL points and the fixed part of every request to it."""

    host: str
    port: int
    tls: ssl.SSLContext | None
    head: bytes  # request line and headers up to Content-Length

    @classmethod
    def of(cls, parts: SplitResult, tls: ssl.SSLContext) -> Origin:
        secure = parts.scheme == "https"
        host = parts.hostname or ""
        port = parts.port or (443 if secure else 80)
        target = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), SAFE)
        lines = [f"POST {target} HTTP/1.1", f"Host: {parts.netloc.rpartition('@')[2]}"]
        if parts.username is not None:  # user:password@ in the URL, as requests sends it
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            lines.append(f"Authorization: Basic {base64.b64encode(pair.encode()).decode()}")
        lines.append("Content-Type: application/json")
        head = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        return cls(host, port, tls if secure else None, head)


class Connection(asyncio.Protocol):
    """Feeds the socket to httptools; `request` waits for the one answer in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Response] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._complete = False
        self._headers_done = False

    async def request(self, data: bytes) -> Response:
        assert self.transport is not None and self._waiter is None
        self._waiter = asyncio.get_running_loop().create_future()
        self._headers, self._body, self._complete, self._headers_done = {}, [], False, False
        self.transport.write(data)
        try:
            return await self._waiter
        finally:
            self._waiter = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def time_out(self, seconds: float) -> None:
        """No whole answer in time: fail the request and drop the connection (unusable now)."""
        self._fail(TimeoutError(f"no answer within {seconds:g} s"))
        self.close()

    # -- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionFailed(f"invalid HTTP answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._headers_done and not self._complete:  # a body delimited by the close
            self.on_message_complete()
        self._fail(
            ConnectionFailed(f"connection closed without an answer{f': {exc}' if exc else ''}")
        )

    # -- httptools callbacks -------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._complete = True
        if not self._parser.should_keep_alive():
            self.close()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            status = self._parser.get_status_code()
            waiter.set_result(Response(status, self._headers, b"".join(self._body)))

    def _fail(self, exc: Exception) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)


async def connect(origin: Origin, timeout: float) -> Connection:
    loop = asyncio.get_running_loop()
    try:
        _, connection = await asyncio.wait_for(
            loop.create_connection(
                Connection,
                origin.host,
                origin.port,
                ssl=origin.tls,
                server_hostname=origin.host if origin.tls else None,
            ),
            timeout,
        )
    except TimeoutError:
        raise
    except OSError as exc:  # refused, unreachable, name not found, TLS verification
        raise ConnectionFailed(str(exc) or type(exc).__name__) from None
    return connection
