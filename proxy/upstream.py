"""The proxy's one outbound seam: a Bot API call passed to TGWEBHOOK_API_BASE with the bot's
real token, Telegram's answer streamed back byte for byte with its status.

Request bodies stream through (a 50 MB upload is never held whole). A call is retried only
when the connection was refused before any byte was sent; after a partial transfer or a
timeout Telegram may have executed it, so the error goes back to the bot. The flood shaper
(proxy/shaper.py) wraps `Upstream.forward`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from proxy import envelope

log = logging.getLogger("tgwebhook.proxy")
Send = Callable[[dict[str, Any]], Awaitable[None]]
CONNECT_RETRIES = 2
RETRY_DELAY = 0.2
PASSED_REQUEST_HEADERS = (b"content-type", b"content-length")
PASSED_RESPONSE_HEADERS = (b"content-type", b"content-length", b"content-encoding", b"retry-after")


@dataclass(frozen=True)
class Call:
    """One call to pass on: `path` is `bot<token>/<method>` or `file/bot<token>/<file path>`."""

    http_method: str
    path: str
    query: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: Callable[[], AsyncIterator[bytes]]


class Upstream:
    def __init__(self, api_base: str, timeout: float) -> None:
        self.api_base = api_base.rstrip("/")
        self.timeout = httpx.Timeout(timeout, read=max(timeout, 120.0), write=max(timeout, 120.0))
        self._client: httpx.AsyncClient | None = None

    async def forward(self, call: Call, send: Send) -> int | None:
        """Telegram's status, or None when the answer (502, 504) is the proxy's own."""
        started = Started()
        for attempt in range(CONNECT_RETRIES + 1):
            try:
                await self._exchange(call, send, started)
                return started.status
            except httpx.ConnectError:
                if started.sent or attempt == CONNECT_RETRIES:
                    await reply(send, envelope.error(502, "Bad Gateway"))
                    return None
                await asyncio.sleep(RETRY_DELAY)
            except httpx.TimeoutException:
                if not started.answered:
                    await reply(send, envelope.error(504, "Gateway Timeout"))
                return started.status
            except httpx.HTTPError as exc:  # its text names the URL, which holds the token
                log.warning("proxy: upstream call failed: %s", type(exc).__name__)
                if not started.answered:
                    await reply(send, envelope.error(502, "Bad Gateway"))
                return started.status
        return None

    async def _exchange(self, call: Call, send: Send, started: Started) -> None:
        headers = [(k, v) for k, v in call.headers if k in PASSED_REQUEST_HEADERS]
        request = self.client().build_request(
            call.http_method,
            f"{self.api_base}/{call.path}",
            params=call.query.decode("latin-1") or None,
            headers=headers,
            content=started.watch(call.body()) if call.http_method != "GET" else None,
        )
        response = await self.client().send(request, stream=True)
        try:
            kept = [
                (k.lower(), v)
                for k, v in response.headers.raw
                if k.lower() in PASSED_RESPONSE_HEADERS
            ]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": kept}
            )
            started.answered, started.status = True, response.status_code
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


class Started:
    """Whether any request byte went out (no retry after that) or the answer began."""

    def __init__(self) -> None:
        self.sent = False
        self.answered = False
        self.status: int | None = None

    async def watch(self, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for chunk in body:
            self.sent = True
            yield chunk


async def reply(send: Send, answer: envelope.Answer) -> None:
    headers = [(b"content-type", b"application/json"), *answer.headers]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
