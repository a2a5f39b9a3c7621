"""The demo's downstream bot: echoes each message back through a webhook reply.

It answers like an aiogram/Telegraf bot does (`{"method": "sendMessage", ...}` in the response
body), so the forwarder's reply passthrough is part of every demo. It can be taken down or
slowed down to play incidents.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from core.telegram import SECRET_HEADER


def reply_for(update: dict[str, Any]) -> dict[str, Any] | None:
    message = update.get("message")
    if isinstance(message, dict) and isinstance(message.get("chat"), dict) and message.get("text"):
        return {
            "method": "sendMessage",
            "chat_id": message["chat"]["id"],
            "text": f"echo: {message['text']}",
        }
    return None


class DemoBot:
    """A webhook bot on 127.0.0.1:`port`; `down()`/`up()` close and reopen its socket."""

    def __init__(self, port: int, secret: str) -> None:
        self.port, self.secret = port, secret
        self.delay = 0.0
        self.received = 0
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    def up(self) -> None:
        with self._lock:
            if self._server is None:
                self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
                self._server.daemon_threads = True
                threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.shutdown()
                self._server.server_close()
                self._server = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get(SECRET_HEADER) != bot.secret:
                    self.send_response(401)
                    self.end_headers()
                    return
                time.sleep(bot.delay)
                bot.received += 1
                reply = reply_for(json.loads(body or b"{}"))
                payload = json.dumps(reply).encode() if reply else b""
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return None

        return Handler
