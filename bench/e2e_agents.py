"""The two ends of bench/e2e.py, each run as its own process so none shares a GIL with another.

    python bench/e2e_agents.py bot PORT SECRET          # fast aiohttp bot: 200 at once
    python bench/e2e_agents.py aiogram PORT SECRET      # unmodified aiogram 3 webhook bot
    python bench/e2e_agents.py load URL SECRET RATE DURATION CHATS BASE OUT

A bot writes down (update_id, wall-clock receive time) for every update its handler sees and
serves them on GET /received (POST /reset forgets them). The loader offers updates at a fixed
rate (open loop: a slow answer does not slow the schedule) and writes, per update, the wall-clock
time it was sent and the time its 2xx was read, so added latency is measured per update.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from urllib.parse import urlsplit

import uvloop
from aiohttp import web

from core.telegram import SECRET_HEADER

UPDATE_ID = re.compile(rb'"update_id":\s*(\d+)')
LOADER_CONNECTIONS = 64
TEMPLATE = (
    '{{"update_id":{uid},"message":{{"message_id":{uid},"date":{date},'
    '"chat":{{"id":{chat},"type":"private","first_name":"Ada"}},'
    '"from":{{"id":{chat},"is_bot":false,"first_name":"Ada"}},"text":"hello from e2e"}}}}'
)


def chat_of(uid: int, base: int, chats: int) -> int:
    """The chat the loader (and bench/e2e.lua) put update `uid` in."""
    return 1000 + (uid - base) % chats


def update_body(uid: int, base: int, chats: int) -> bytes:
    chat = chat_of(uid, base, chats)
    return TEMPLATE.format(uid=uid, date=int(time.time()), chat=chat).encode()


class Ledger:
    """What a bot received, in arrival order."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, float]] = []

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/received", self.received), web.post("/reset", self.reset)]

    async def received(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", 0))
        if request.query.get("count"):
            return web.json_response(len(self.seen) - since)
        return web.json_response(self.seen[since:])

    async def reset(self, request: web.Request) -> web.Response:
        self.seen.clear()
        return web.json_response(0)


def fast_bot(secret: str) -> web.Application:
    ledger = Ledger()

    async def hook(request: web.Request) -> web.Response:
        at = time.time()
        if request.headers.get(SECRET_HEADER) != secret:
            return web.Response(status=401)
        match = UPDATE_ID.search(await request.read())
        ledger.seen.append((int(match.group(1)), at))
        return web.Response(status=200)

    app = web.Application()
    app.add_routes([web.post("/hook", hook), *ledger.routes()])
    return app


def aiogram_bot(secret: str) -> web.Application:
    """aiogram as its users run it: Dispatcher, a message handler, SimpleRequestHandler."""
    from aiogram import Bot, Dispatcher
    from aiogram.types import Message, Update
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler

    ledger = Ledger()
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def handle(message: Message, event_update: Update) -> None:
        ledger.seen.append((event_update.update_id, time.time()))

    app = web.Application()
    bot = Bot("123456:AAbenchmarkbenchmarkbenchmarkbenchmark")  # never calls the Bot API
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token=secret).register(
        app, path="/hook"
    )
    app.add_routes(ledger.routes())
    return app


def request_bytes(path: str, host: str, secret: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"{SECRET_HEADER}: {secret}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_status(reader: asyncio.StreamReader) -> int:
    """One HTTP/1.1 response off a keep-alive connection; returns its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    if length:
        await reader.readexactly(int(length.group(1)))
    elif re.search(rb"(?i)\r\ntransfer-encoding:\s*chunked", head):
        while (size := int((await reader.readline()).strip() or b"0", 16)) > 0:
            await reader.readexactly(size + 2)
        await reader.readline()
    return status


async def offer(url: str, secret: str, rate: float, duration: float, chats: int, base: int):
    """Send rate*duration updates on schedule; returns (uid, sent, acked or 0, status) rows.

    Plain asyncio streams on keep-alive connections: an HTTP client library costs several
    times more CPU per request, and the loader must not be what limits the rows."""
    total = int(rate * duration)
    rows: list[tuple[int, float, float, int]] = []
    due: asyncio.Queue[int | None] = asyncio.Queue()
    parsed = urlsplit(url)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
        while (uid := await due.get()) is not None:
            body = update_body(uid, base, chats)
            sent = time.time()
            try:
                writer.write(request_bytes(parsed.path, parsed.netloc, secret, body))
                status = await read_status(reader)
                rows.append((uid, sent, time.time(), status))
            except (OSError, asyncio.IncompleteReadError, ValueError):
                rows.append((uid, sent, 0.0, 0))  # not acknowledged; never retried: we measure
                writer.close()
                reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
        writer.close()

    workers = [asyncio.ensure_future(connection()) for _ in range(LOADER_CONNECTIONS)]
    start, queued = time.monotonic(), 0
    while queued < total:
        now_due = min(total, int((time.monotonic() - start) * rate) + 1)
        for i in range(queued, now_due):
            due.put_nowait(base + i)
        queued = now_due
        await asyncio.sleep(0.001)
    for _ in workers:
        due.put_nowait(None)
    await asyncio.gather(*workers)
    return rows


def main(argv: list[str]) -> int:
    kind = argv[0]
    if kind in ("bot", "aiogram"):
        app = (fast_bot if kind == "bot" else aiogram_bot)(argv[2])
        loop = uvloop.new_event_loop()
        web.run_app(
            app, host="127.0.0.1", port=int(argv[1]), print=None, access_log=None, loop=loop
        )
        return 0
    url, secret, rate, duration, chats, base, out = argv[1:8]
    rows = uvloop.run(offer(url, secret, float(rate), float(duration), int(chats), int(base)))
    with open(out, "w") as handle:
        json.dump(rows, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
