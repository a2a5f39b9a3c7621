"""The webhook pipeline as an ASGI application: what `python app.py serve` runs.

gunicorn runs it in uvicorn workers (C HTTP parser, uvloop). A request awaits its row in the
group-commit writer instead of holding a thread, so one worker per core keeps every
connection Telegram opens busy. Measured on 2 cores: about 3x the updates/s of gunicorn's
gthread workers (bench/ingest.py). The public listener serves /webhook/* and /livez only;
app.py puts the ops application behind the ops listener (or behind this one, on loopback).

This module only translates: scope/receive into a `WebhookRequest`, the `Answer` into send.
WSGI callers (Flask's test client, embedding) reach this same app through `as_wsgi`.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from functools import cache, partial
from typing import Any, cast

from a2wsgi import ASGIMiddleware, WSGIMiddleware

from core.telegram import SECRET_HEADER
from receiver.pipeline import PREFIX, Answer, ClientGone, Pipeline, WebhookRequest

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
SECRET_KEY = SECRET_HEADER.lower().encode("latin-1")


def header(headers: dict[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return None if value is None else value.decode("latin-1")  # as WSGI servers decode them


def declared_length(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def to_request(scope: Scope, receive: Receive) -> WebhookRequest:
    headers = dict(scope.get("headers") or ())
    client = scope.get("client")
    return WebhookRequest(
        bot=scope["path"][len(PREFIX) :],
        method=scope["method"],
        secret=header(headers, SECRET_KEY),
        content_type=header(headers, b"content-type"),
        content_length=declared_length(header(headers, b"content-length")),
        peer=client[0] if client else None,
        forwarded_for=header(headers, b"x-forwarded-for"),
        read_body=partial(read_at_most, receive),
    )


async def read_at_most(receive: Receive, limit: int) -> bytes:
    """The body, incrementally; stops once it holds more than `limit` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if size > limit or not message.get("more_body"):
            return b"".join(chunks)


async def send_answer(send: Send, answer: Answer) -> None:
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(answer.body)).encode()),
    ]
    headers += [(name.lower().encode(), value.encode()) for name, value in answer.headers]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


class WebhookASGI:
    """/webhook/* to the pipeline; every other path to `fallback`: `public_rest` on the public
    listener, the ops application where one listener serves both (loopback only)."""

    def __init__(self, pipeline: Pipeline, fallback: ASGIApp) -> None:
        self.pipeline = pipeline
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await lifespan(receive, send)
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            return await self.fallback(scope, receive, send)
        await send_answer(send, await self.pipeline.handle(to_request(scope, receive)))


async def public_rest(scope: Scope, receive: Receive, send: Send) -> None:
    """What the public listener serves besides /webhook/*: /livez, and 404 for everything else
    (ops paths tell whoever reaches the webhook bot names, errors and queue sizes)."""
    if scope["type"] != "http":
        return
    found = scope["path"] == "/livez"
    body = b"ok\n" if found else b"not found\n"
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200 if found else 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def from_wsgi(app: WSGIApp, threads: int) -> ASGIApp:
    """A WSGI app (Flask) as ASGI, run on a pool of `threads` threads."""
    # a2wsgi types scopes as TypedDicts; plain ones pass through unchanged.
    return cast(Any, WSGIMiddleware(cast(Any, app), workers=threads))


async def lifespan(receive: Receive, send: Send) -> None:
    # Nothing to start or stop: the store's writer starts on first use in each worker.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


@cache
def background_loop(pid: int) -> asyncio.AbstractEventLoop:
    """One event loop thread per process for WSGI callers, started on first use (after fork)."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="webhook-loop", daemon=True).start()
    return loop


def as_wsgi(app: WebhookASGI) -> WSGIApp:
    """The ASGI app for WSGI callers: the same pipeline, run on `background_loop`."""

    def call(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # a2wsgi passes the peer only with its port; Flask's test client gives no port.
        environ.setdefault("REMOTE_PORT", "0")
        bridge = ASGIMiddleware(cast(Any, app), loop=background_loop(os.getpid()))
        # Drained here: a2wsgi's task waits for its body to be taken, or stays pending forever.
        return list(bridge(cast(Any, environ), start_response))

    return call


def mount(webhook: WSGIApp, fallback: WSGIApp) -> WSGIApp:
    """A WSGI app sending /webhook/* to `webhook` and everything else to `fallback` (Flask)."""

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(PREFIX):
            return webhook(environ, start_response)
        return fallback(environ, start_response)

    return dispatch
