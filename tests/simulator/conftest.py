"""Fixtures for the simulator tests: a real simulator, real webhook receivers, a Bot API caller.

No mocks: the simulator runs its aiohttp server on a free loopback port, and every "bot" is a
small aiohttp app on another free port that records what Telegram (the simulator) sent it.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from aiohttp import web

from simulator import Simulator, make_token, start_simulator

WAIT = 10.0  # upper bound for any single wait in these tests
_token_numbers = itertools.count(1000)


@dataclass
class Hit:
    """One webhook request the receiver got."""

    update: dict[str, Any]
    headers: dict[str, str]
    started: float
    finished: float = 0.0

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])

    @property
    def chat_id(self) -> int | None:
        body = next(v for k, v in self.update.items() if k != "update_id")
        chat = body.get("chat") or (body.get("message") or {}).get("chat") or body.get("from")
        return chat["id"] if chat else None


@dataclass
class Behaviour:
    """How the receiver answers: sleep, fail the first N requests, reply with a body, or wait."""

    delay: float = 0.0
    fail_first: int = 0
    fail_status: int = 503
    fail_headers: dict[str, str] = field(default_factory=dict)
    reply: dict[str, Any] | None = None
    gate: threading.Event | None = None


class Receiver:
    """A real aiohttp webhook endpoint in its own thread; records hits and concurrency."""

    def __init__(self, behaviour: Behaviour, ssl_context: ssl.SSLContext | None = None) -> None:
        self.behaviour = behaviour
        self._ssl = ssl_context
        self.hits: list[Hit] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{self._sock.getsockname()[1]}/hook"
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> Receiver:
        self._thread.start()
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        coro = self._open()
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(WAIT)
        return self

    async def _open(self) -> None:
        assert self._runner is not None
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock, ssl_context=self._ssl).start()

    def stop(self) -> None:
        if self._runner is not None:
            cleanup = self._runner.cleanup()
            asyncio.run_coroutine_threadsafe(cleanup, self._loop).result(WAIT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(WAIT)
        self._loop.close()
        self._sock.close()

    async def _handle(self, request: web.Request) -> web.Response:
        hit = Hit(await request.json(), dict(request.headers), time.monotonic())
        with self._lock:
            number = len(self.hits)
            self.hits.append(hit)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(number)
        finally:
            with self._lock:
                self.in_flight -= 1
            hit.finished = time.monotonic()

    async def _answer(self, number: int) -> web.Response:
        b = self.behaviour
        if b.gate is not None:
            deadline = time.monotonic() + WAIT
            while not b.gate.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
        if b.delay:
            await asyncio.sleep(b.delay)
        if number < b.fail_first:
            return web.Response(status=b.fail_status, headers=b.fail_headers)
        if b.reply is not None:
            return web.json_response(b.reply)
        return web.Response(status=200)

    def wait_for(self, count: int, timeout: float = WAIT) -> list[Hit]:
        deadline = time.monotonic() + timeout
        while len(self.hits) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"receiver got {len(self.hits)} of {count} hits in {timeout} s"
                )
            time.sleep(0.005)
        return list(self.hits)


class BotApi:
    """Calls the simulator's Bot API over real HTTP and returns (status, envelope)."""

    def __init__(self, sim: Simulator, token: str) -> None:
        self.sim, self.token = sim, token

    def __call__(self, method: str, **params: Any) -> dict[str, Any]:
        return self.raw(method, **params)[1]

    def raw(self, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
        resp = requests.post(self.sim.api_url(self.token, method), json=params, timeout=WAIT)
        return resp.status_code, resp.json()


@pytest.fixture
def make_sim() -> Iterator[Callable[..., Simulator]]:
    """Start simulators with given options; all are stopped after the test."""
    started: list[Simulator] = []

    def make(**options: Any) -> Simulator:
        options.setdefault("time_factor", 0.01)
        sim = start_simulator(**options)
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim()


@pytest.fixture
def token() -> str:
    """A fresh bot per test (bots are created on first use)."""
    return make_token(next(_token_numbers))


@pytest.fixture
def api(sim: Simulator, token: str) -> BotApi:
    return BotApi(sim, token)


@pytest.fixture
def make_api() -> Callable[[Simulator, str], BotApi]:
    """A Bot API caller for another simulator or bot."""
    return BotApi


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., Receiver]]:
    """Start webhook receivers (Behaviour fields as keywords); all stopped after the test."""
    started: list[Receiver] = []

    def make(ssl_context: ssl.SSLContext | None = None, **behaviour: Any) -> Receiver:
        receiver = Receiver(Behaviour(**behaviour), ssl_context).start()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nobody listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
