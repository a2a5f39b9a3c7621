"""The HTTP seam to the bot backend: one POST per update, in Telegram's webhook format.

One aiohttp session per bot whose keep-alive pool holds `forward_concurrency` connections (the
chats in flight), as Telegram keeps up to max_connections open. Every outcome, including a
refused connection or a timeout, becomes an `Answer`; error texts never carry the forward URL
(it may hold a secret path) or a bot token.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from core.config import Secret
from core.telegram import SECRET_HEADER, redact
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
    """The keep-alive connections to one bot's backend; open and use inside one event loop."""

    def __init__(self, timeout: float, connections: int) -> None:
        self.timeout = timeout
        self.connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.connections, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(
                connector=connector,
                # Like requests' (connect, read) timeouts: a bot may take this long per phase.
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self.timeout, sock_read=self.timeout
                ),
                auto_decompress=False,  # a reply body goes on to Telegram byte for byte
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def post(self, url: str, body: bytes, secret: Secret) -> Answer:
        headers = {"Content-Type": "application/json"}
        if secret:
            headers[SECRET_HEADER] = secret.reveal()
        started = time.monotonic()
        try:
            # Telegram does not follow redirects; neither do we (a 3xx is a failure).
            async with self._open().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                content = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Answer(None, time.monotonic() - started, error=describe(exc, url))
        duration = time.monotonic() - started
        content_type = response.headers.get("Content-Type", "")
        if 200 <= response.status < 300:
            return Answer(response.status, duration, "", None, content_type, content)
        retry_after = parse_retry_after(response.headers.get("Retry-After"), time.time())
        error = f"HTTP {response.status}: {snippet(content)}".rstrip(": ")
        return Answer(response.status, duration, error, retry_after, content_type)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def describe(exc: BaseException, url: str) -> str:
    """`ConnectionError: ...` or `Timeout: ...`, the wording operators know from requests."""
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        kind = "Timeout"
    elif isinstance(exc, aiohttp.ClientConnectionError):
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
