"""Helpers shared by the monitor tests (plain functions and values, no fixtures)."""

from __future__ import annotations

import contextlib
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import trustme

from core.storage import Observation
from tests.helpers.support import free_port


def observation(at: float, pending: int = 0, bot: str = "default", **over) -> Observation:
    """A successful poll at `at` with a webhook set to the default expected URL."""
    fields = {"url": "https://bot.example.com/webhook/default", "max_connections": 40}
    return Observation(
        bot=bot, observed_at=at, ok=True, pending_update_count=pending, **{**fields, **over}
    )


@dataclass
class Receiver:
    """A local HTTP server that records JSON POSTs and answers with scripted statuses."""

    url: str
    received: list[dict] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # consumed first; then 200
    headers: dict[str, str] = field(default_factory=dict)

    def bodies(self) -> list:
        return [r["json"] for r in self.received if r["status"] == 200]


class TlsSite:
    """An HTTPS server on 127.0.0.1 answering GET /livez, with a certificate made by trustme."""

    def __init__(self, cert: trustme.LeafCert) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), LivezHandler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, host: str = "localhost") -> str:
        return f"https://{host}:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class LivezHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.path == "/livez" else 404
        self.send_response(status)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")

    def handle(self) -> None:
        # A client that rejected our certificate hangs up mid-handshake.
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            super().handle()

    def log_message(self, *args) -> None:
        pass
