"""The webhook endpoint as an ASGI application: what `python app.py serve` runs.

gunicorn runs it in uvicorn workers (C HTTP parser, uvloop). A request awaits its row in the
group-commit writer instead of holding a thread, so one worker per core keeps every
connection Telegram opens busy. Everything but /webhook/* is the Flask app, through a2wsgi.
Measured on 2 cores: about 3x the updates/s of gunicorn's gthread workers (bench/ingest.py).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from a2wsgi import WSGIMiddleware

from core.storage import StoreError
from receiver.parsing import Rejected
from receiver.views import PREFIX, Answer, WebhookEndpoint, WebhookRequest, declared_length

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


def header(headers: dict[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return None if value is None else value.decode("latin-1")  # as WSGI servers decode them


def to_request(scope: dict) -> WebhookRequest:
    headers = dict(scope.get("headers") or ())
    client = scope.get("client")
    return WebhookRequest(
        bot=scope["path"][len(PREFIX) :],
        method=scope["method"],
        secret=header(headers, b"x-telegram-bot-api-secret-token"),
        content_type=header(headers, b"content-type"),
        content_length=declared_length(header(headers, b"content-length")),
        peer=client[0] if client else None,
        forwarded_for=header(headers, b"x-forwarded-for"),
    )


async def read_body(receive: Receive, declared: int | None, limit: int) -> bytes:
    """At most `limit` bytes; refuse early on a declared length over the limit."""
    if declared is not None and declared > limit:
        raise Rejected("too_large", f"body over {limit} bytes")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Rejected("bad_request", "client went away before sending the body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Rejected("too_large", f"body over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


class WebhookASGI:
    def __init__(self, endpoint: WebhookEndpoint, fallback: Callable, threads: int) -> None:
        self.endpoint = endpoint
        self.fallback = WSGIMiddleware(fallback, workers=threads)

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await lifespan(receive, send)
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            return await self.fallback(scope, receive, send)
        request = to_request(scope)
        answer = self.endpoint.route(request) or await self.handle(request, receive)
        headers: list[Any] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(answer.body)).encode()),
        ]
        headers += [(name.lower().encode(), value.encode()) for name, value in answer.headers]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def handle(self, request: WebhookRequest, receive: Receive) -> Answer:
        endpoint, started = self.endpoint, time.perf_counter()
        try:
            endpoint.check(request)
            body = await read_body(
                receive, request.content_length, endpoint.settings.max_body_bytes
            )
            update, info = endpoint.admit(request, body)
            is_new = await endpoint.store.record_update_async(
                update, forward=endpoint.forwards(request.bot)
            )
            return endpoint.answer(request.bot, endpoint.settle(request.bot, info, is_new), started)
        except (Rejected, StoreError) as exc:
            outcome, failure = endpoint.fail(request.bot, exc)
            return endpoint.answer(request.bot, outcome, started, failure)


async def lifespan(receive: Receive, send: Send) -> None:
    # Nothing to start or stop: the store's writer starts on first use in each worker.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
