"""Forwarder test helpers: a real local bot backend (HTTP server), store and metric readers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from core.storage import IncomingUpdate
from tests.helpers.support import chat_of, make_update, scrape


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    hang_up: bool = False  # close the connection instead of answering


@dataclass(frozen=True)
class Received:
    update_id: int
    chat_id: int | None
    secret: str | None
    content_type: str
    body: bytes
    at: float


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a peer that hangs up (a killed forwarder) is part of these tests


class BotBackend:
    """A bot's webhook endpoint: records every POST, answers what `rule(update)` says."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.rule: Callable[[dict], Reply] = lambda update: Reply()
        self._lock = threading.Lock()
        self._down = False
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook/secret-path"

    def up(self) -> None:
        self._down = False
        self._server = QuietServer(("127.0.0.1", self.port), self._handler())
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def down(self) -> None:
        """Refuse connections, and drop requests on connections already open."""
        self._down = True
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def update_ids(self, chat_id: int | None = None) -> list[int]:
        with self._lock:
            return [r.update_id for r in self.received if chat_id in (None, r.chat_id)]

    def _record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like the forwarder's session expects

            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if backend._down:
                    self.close_connection = True
                    return
                update = json.loads(body)
                reply = backend.rule(update)
                backend._record(
                    Received(
                        update["update_id"],
                        chat_of(update),
                        self.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                        self.headers.get("Content-Type", ""),
                        body,
                        time.monotonic(),
                    )
                )
                time.sleep(reply.delay)
                if reply.hang_up:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(reply.body)
                except OSError:  # the forwarder was killed or timed out meanwhile
                    self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        return Handler


def enqueue(
    store,
    update_id: int,
    chat_id: int,
    bot: str = "default",
    forward: bool = True,
    received_at: float | None = None,
) -> dict:
    update = make_update(update_id, chat_id=chat_id)
    store.record_update(
        IncomingUpdate(
            bot,
            update_id,
            "message",
            str(chat_id),
            json.dumps(update).encode(),
            received_at or time.time(),
            True,
        ),
        forward,
    )
    return update


def enqueue_silently(store, update_id: int, chat_id: int, bot: str = "default") -> None:
    """Store an update the way the receiver does, but without waking any forwarder (a lost
    wake-up)."""
    body = json.dumps(make_update(update_id, chat_id=chat_id)).encode()
    with store.write() as conn:
        conn.execute(
            "INSERT INTO updates (bot, update_id, type, chat_key, received_at, conforms, body,"
            " state) VALUES (?, ?, 'message', ?, ?, 1, ?, 'pending')",
            (bot, update_id, str(chat_id), time.time(), body),
        )


def forward_metric(base_url: str, result: str, bot: str = "default") -> float:
    key = ("tgwebhook_forward_attempts_total", (("bot", bot), ("result", result)))
    return scrape(base_url).get(key, 0.0)


def queue_depth(base_url: str, bot: str = "default") -> float:
    return scrape(base_url).get(("tgwebhook_queue_depth", (("bot", bot),)), 0.0)


def attempts_metric(result: str, bot: str = "default") -> float:
    """tgwebhook_forward_attempts_total in this process (in-process Dispatcher tests)."""
    from prometheus_client import REGISTRY

    labels = {"bot": bot, "result": result}
    return REGISTRY.get_sample_value("tgwebhook_forward_attempts_total", labels) or 0.0


def states(store) -> dict[str, int]:
    rows = store.read("SELECT state, COUNT(*) FROM updates GROUP BY state")
    return {state: count for state, count in rows}
